// Optional op accounting for benchmarks: floating-point operations and wall time spent in the
// GEMM (linear/matmul) and in attention. Off unless enabled; when off it costs one relaxed
// atomic load per op.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace mova::profile {

enum class Category { kGemm = 0, kAttention = 1, kCount = 2 };

struct Totals {
  double flops = 0;
  double seconds = 0;
};

void enable(bool on);
bool enabled();
void reset();
Totals totals(Category c);

// Adds to a category for the lifetime of the scope (when profiling is enabled).
class Scope {
 public:
  Scope(Category c, double flops);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

 private:
  Category category_;
  double flops_;
  bool active_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace mova::profile
