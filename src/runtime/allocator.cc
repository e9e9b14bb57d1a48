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

void* aligned_malloc_or_null(size_t bytes) {
  const size_t rounded = (std::max<size_t>(bytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
  return std::aligned_alloc(kAlignment, rounded);
}

void* aligned_malloc(size_t bytes) {
  void* p = aligned_malloc_or_null(bytes);
  if (p == nullptr)
    throw OutOfMemoryError(/*on_host=*/true,
                           str_cat("out of host memory allocating ", bytes, " bytes"));
  return p;
}
}  // namespace

RawAllocator host_allocator() {
  return {"host", Device::cpu(), aligned_malloc_or_null, [](void* p) { std::free(p); }};
}

// A reclaimer and whether its handle still lives: unregistering takes `mutex`, so it waits for
// a call in progress on another thread (recursive: a call that drops the last handle itself,
// on the same thread, must not wait for itself).
struct BufferPool::Registration {
  std::recursive_mutex mutex;
  bool alive = true;
  Reclaimer reclaim;
};

struct BufferPool::State {
  std::mutex mutex;
  RawAllocator raw;
  std::multimap<size_t, void*> free_list;  // size class -> buffer
  MemoryStats stats;
  bool alive = true;
  std::map<uint64_t, std::shared_ptr<Registration>> reclaimers;  // by registration order
  uint64_t next_reclaimer = 0;

  explicit State(RawAllocator r) : raw(std::move(r)) {}
  ~State() { free_cached(); }

  // Called with `mutex` held.
  void free_cached() {
    for (auto& [size, p] : free_list) raw.free(p);
    free_list.clear();
    stats.cached = 0;
  }
};

BufferPool::BufferPool(RawAllocator raw) : state_(std::make_shared<State>(std::move(raw))) {}

BufferPool::~BufferPool() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->alive = false;
  state_->free_cached();
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
    // A miss adds memory: evict cached buffers (largest first) so that live plus cached bytes
    // never exceed the live high-water mark. Shapes that repeat (a denoising loop) still hit
    // the cache; a pass whose sizes keep changing (the VAE's levels) no longer piles up
    // buffers it will not reuse.
    const size_t high_water = std::max(st.peak_in_use, st.in_use);
    while (!p && st.in_use + st.cached > high_water && !state_->free_list.empty()) {
      auto last = std::prev(state_->free_list.end());
      st.cached -= last->first;
      evicted.push_back(last->second);
      state_->free_list.erase(last);
    }
  }
  for (void* e : evicted) state_->raw.free(e);
  if (!p) p = state_->raw.alloc(cls);
  if (!p) {  // out of memory: give back what the cache holds and try once more
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->free_cached();
    }
    p = state_->raw.alloc(cls);
  }
  if (!p) p = reclaim_and_retry(cls);
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    auto& st = state_->stats;
    if (!p) {
      st.in_use -= cls;
      throw OutOfMemoryError(state_->raw.device.is_cpu(),
                             str_cat("out of ", state_->raw.name, " memory allocating ", cls,
                                     " bytes (", st.in_use, " bytes in use)"));
    }
    // The peaks count what was held at once: only once the buffer exists, and after whatever
    // the reclaimers gave back to make room for it.
    st.peak_in_use = std::max(st.peak_in_use, st.in_use);
    st.peak_since_mark = std::max(st.peak_since_mark, st.in_use);
  }
  std::shared_ptr<State> state = state_;
  return std::shared_ptr<void>(p, [state, cls](void* ptr) {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->stats.in_use -= cls;
    if (state->alive) {
      state->free_list.emplace(cls, ptr);
      state->stats.cached += cls;
    } else {
      state->raw.free(ptr);
    }
  });
}

void* BufferPool::reclaim_and_retry(size_t bytes) {
  std::vector<std::shared_ptr<Registration>> reclaimers;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    for (const auto& [id, r] : state_->reclaimers) reclaimers.push_back(r);
  }
  for (const auto& r : reclaimers) {
    const auto give_back = [&r] {
      std::lock_guard<std::recursive_mutex> lock(r->mutex);
      return r->alive && r->reclaim();
    };
    while (give_back()) {
      // What was given back went to the free lists (the last reference to a buffer returns
      // it there); hand it to the raw allocator before trying again.
      {
        std::lock_guard<std::mutex> lock(state_->mutex);
        state_->free_cached();
      }
      if (void* p = state_->raw.alloc(bytes)) return p;
    }
  }
  return nullptr;
}

std::shared_ptr<void> BufferPool::add_reclaimer(Reclaimer reclaimer) {
  auto registration = std::make_shared<Registration>();
  registration->reclaim = std::move(reclaimer);
  std::lock_guard<std::mutex> lock(state_->mutex);
  const uint64_t id = state_->next_reclaimer++;
  state_->reclaimers.emplace(id, registration);
  std::shared_ptr<State> state = state_;
  return std::shared_ptr<void>(registration.get(), [state, id, registration](void*) {
    {
      std::lock_guard<std::mutex> lock(state->mutex);
      state->reclaimers.erase(id);
    }
    std::lock_guard<std::recursive_mutex> lock(registration->mutex);  // waits for a call
    registration->alive = false;
  });
}

void BufferPool::trim() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->free_cached();
}

MemoryStats BufferPool::stats() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->stats;
}

void BufferPool::mark_peak() {
  std::lock_guard<std::mutex> lock(state_->mutex);
  state_->stats.peak_since_mark = state_->stats.in_use;
}

Device BufferPool::device() const {
  return state_->raw.device;  // fixed at construction: no lock needed
}

std::shared_ptr<void> allocate_aligned(size_t bytes) {
  return std::shared_ptr<void>(aligned_malloc(bytes), [](void* p) { std::free(p); });
}

}  // namespace mova
