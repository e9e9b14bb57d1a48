#include "runtime/allocator.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <iterator>
#include <new>
#include <vector>

#include "runtime/error.h"

namespace mova {
namespace {
constexpr size_t kAlignment = 64;

void* aligned_malloc(size_t bytes) {
  const size_t rounded = (std::max<size_t>(bytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded);
  MOVA_CHECK(p != nullptr, ErrorKind::kIo, "out of memory allocating ", bytes, " bytes");
  return p;
}
}  // namespace

struct BufferPool::State {
  std::mutex mutex;
  std::multimap<size_t, void*> free_list;  // size class -> buffer
  MemoryStats stats;
  bool alive = true;

  ~State() {
    for (auto& [size, p] : free_list) std::free(p);
  }
};

BufferPool::BufferPool() : state_(std::make_shared<State>()) {}

BufferPool::~BufferPool() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->alive = false;
  for (auto& [size, p] : state_->free_list) std::free(p);
  state_->free_list.clear();
  state_->stats.cached = 0;
}

size_t BufferPool::size_class(size_t bytes) {
  if (bytes <= 256) return 256;
  const int top = std::bit_width(bytes - 1) - 1;  // floor(log2(bytes-1))
  const size_t quarter = size_t{1} << (top - 2);
  return (bytes + quarter - 1) / quarter * quarter;
}

std::shared_ptr<void> BufferPool::allocate(size_t bytes) {
  const size_t cls = size_class(bytes);
  void* p = nullptr;
  std::vector<void*> evicted;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    auto& st = state_->stats;
    ++st.allocations;
    auto it = state_->free_list.find(cls);
    if (it != state_->free_list.end()) {
      p = it->second;
      state_->free_list.erase(it);
      st.cached -= cls;
      ++st.reuses;
    }
    st.in_use += cls;
    st.peak_in_use = std::max(st.peak_in_use, st.in_use);
    // A miss adds memory: evict cached buffers (largest first) so that live plus cached bytes
    // never exceed the live high-water mark. Shapes that repeat (a denoising loop) still hit
    // the cache; a pass whose sizes keep changing (the VAE's levels) no longer piles up
    // buffers it will not reuse.
    while (!p && st.in_use + st.cached > st.peak_in_use && !state_->free_list.empty()) {
      auto last = std::prev(state_->free_list.end());
      st.cached -= last->first;
      evicted.push_back(last->second);
      state_->free_list.erase(last);
    }
  }
  for (void* e : evicted) std::free(e);
  if (!p) p = aligned_malloc(cls);
  std::shared_ptr<State> state = state_;
  return std::shared_ptr<void>(p, [state, cls](void* ptr) {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->stats.in_use -= cls;
    if (state->alive) {
      state->free_list.emplace(cls, ptr);
      state->stats.cached += cls;
    } else {
      std::free(ptr);
    }
  });
}

void BufferPool::trim() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  for (auto& [size, p] : state_->free_list) std::free(p);
  state_->free_list.clear();
  state_->stats.cached = 0;
}

MemoryStats BufferPool::stats() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->stats;
}

std::shared_ptr<void> allocate_aligned(size_t bytes) {
  return std::shared_ptr<void>(aligned_malloc(bytes), [](void* p) { std::free(p); });
}

}  // namespace mova
