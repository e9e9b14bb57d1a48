// What an op needs to run on the CPU: the thread pool and the activation buffer pool.
// Owned by the caller (a model context, a test); ops take it by reference.
#pragma once

#include "runtime/allocator.h"
#include "runtime/thread_pool.h"

namespace mova {

class Exec {
 public:
  explicit Exec(int threads = 0) : pool_(threads) {}
  ThreadPool& pool() { return pool_; }
  BufferPool& buffers() { return buffers_; }
  int threads() const { return pool_.size(); }

 private:
  ThreadPool pool_;
  BufferPool buffers_;
};

}  // namespace mova
