// Shared by the benchmarks.
#pragma once

#include <cstdlib>

#include "runtime/thread_pool.h"

namespace mova::bench {

// MOVA_BENCH_THREADS, or all hardware threads; used for ours and the baseline alike.
inline int threads() {
  const char* v = std::getenv("MOVA_BENCH_THREADS");
  return v ? std::atoi(v) : ThreadPool::hardware_threads();
}

}  // namespace mova::bench
