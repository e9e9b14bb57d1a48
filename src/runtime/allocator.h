// Host memory for tensors. BufferPool caches freed activation buffers by size class so that a
// denoising loop which allocates the same shapes every step stops calling malloc after the
// first step. Buffers are 64-byte aligned (a cache line, and enough for any SIMD load).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "runtime/error.h"

namespace mova {

// Where a BufferPool's memory comes from: 64-byte aligned host memory by default; the CUDA
// backend passes cudaMalloc/cudaFree for one device. `alloc` returns nullptr when out of
// memory (the pool then frees its cache and tries once more before throwing).
struct RawAllocator {
  std::string name;  // "host", "cuda:0": named in out-of-memory errors
  Device device;     // where the memory is: tensors allocated from the pool live there
  std::function<void*(size_t)> alloc;
  std::function<void(void*)> free;
};

RawAllocator host_allocator();

struct MemoryStats {
  size_t in_use = 0;       // bytes handed out and not yet returned
  size_t peak_in_use = 0;  // high-water mark of in_use
  // High-water mark of in_use since the last BufferPool::mark_peak() (a pipeline stage's).
  size_t peak_since_mark = 0;
  size_t cached = 0;  // bytes held in the free lists
  uint64_t allocations = 0;
  uint64_t reuses = 0;  // allocations served from the cache
};

class BufferPool {
 public:
  explicit BufferPool(RawAllocator raw = host_allocator());
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // Returns an aligned buffer of at least `bytes`; it goes back to the pool when the last
  // shared_ptr copy is dropped, even if that happens after the pool itself is destroyed.
  std::shared_ptr<void> allocate(size_t bytes);
  // Frees every cached buffer.
  void trim();

  // Something that holds memory of this pool it could do without (the device weight cache's
  // copies): when an allocation fails even after the cached buffers are freed, the pool calls
  // its reclaimers in registration order, outside its lock, each as long as it returns true
  // ("gave something back"), retrying the allocation after each call. A reclaimer may be
  // called from any thread that allocates from the pool; one that cannot give back now (busy
  // elsewhere) returns false. It stays registered until the returned (non-null) handle is
  // dropped, which waits for a call in progress and may happen after the pool is gone.
  using Reclaimer = std::function<bool()>;
  [[nodiscard]] std::shared_ptr<void> add_reclaimer(Reclaimer reclaimer);
  MemoryStats stats() const;
  // Starts a new peak_since_mark from the bytes in use now.
  void mark_peak();
  Device device() const;

  // Size classes: four per power of two, so at most 25% of a buffer is slack.
  static size_t size_class(size_t bytes);

 private:
  struct State;
  struct Registration;
  void* reclaim_and_retry(size_t bytes);
  std::shared_ptr<State> state_;
};

// A plain aligned allocation outside any pool.
std::shared_ptr<void> allocate_aligned(size_t bytes);

}  // namespace mova
