// "Device memory" that runs out: a RawAllocator over host memory with a fixed capacity, for
// tests of what the engine does when a GPU is full (no GPU needed).
#pragma once

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "runtime/allocator.h"

namespace mova::test {

class CappedMemory {
 public:
  explicit CappedMemory(size_t capacity) : state_(std::make_shared<State>()) {
    state_->capacity = capacity;
  }

  // Allocations that would take the bytes in use past the capacity return nullptr.
  RawAllocator allocator(const std::string& name, Device device) const {
    auto s = state_;
    return RawAllocator{name, device,
                        [s](size_t bytes) -> void* {
                          std::lock_guard<std::mutex> lock(s->mutex);
                          if (s->in_use + bytes > s->capacity) return nullptr;
                          void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
                          if (!p) return nullptr;
                          s->sizes[p] = bytes;
                          s->in_use += bytes;
                          s->peak = std::max(s->peak, s->in_use);
                          return p;
                        },
                        [s](void* p) {
                          std::lock_guard<std::mutex> lock(s->mutex);
                          s->in_use -= s->sizes.at(p);
                          s->sizes.erase(p);
                          std::free(p);
                        }};
  }

  size_t in_use() const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->in_use;
  }
  size_t peak() const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->peak;
  }

 private:
  struct State {
    std::mutex mutex;
    size_t capacity = 0, in_use = 0, peak = 0;
    std::map<void*, size_t> sizes;
  };
  std::shared_ptr<State> state_;
};

}  // namespace mova::test
