// CPU GEMM: C[m,n] (+)= op(A)[m,k] · op(B)[k,n] (+ bias[n]), f32 accumulation.
// A is f32; B may be F32, BF16 or F16 (weights are converted while packing, so the inner
// kernel is always f32 FMA). Blocked and packed in the BLIS style, multi-threaded over tiles.
#pragma once

#include <cstdint>
#include <functional>

#include "runtime/dtype.h"

namespace mova {
class ThreadPool;
}

namespace mova::cpu {

struct GemmProblem {
  int64_t m = 0, n = 0, k = 0;
  const float* a = nullptr;
  int64_t lda = 0;
  bool trans_a = false;  // A stored [k, m]
  const void* b = nullptr;
  DType b_dtype = DType::kF32;
  int64_t ldb = 0;
  bool trans_b = false;  // B stored [n, k] (torch Linear weight layout)
  float* c = nullptr;
  int64_t ldc = 0;
  const float* bias = nullptr;  // [n], optional
  bool accumulate = false;      // C += A·B instead of C = A·B
  // For an operand that is never materialised (a convolution's im2col columns): instead of
  // reading b, the GEMM calls b_row(k, j0, n, out) to write op(B)[k, j0:j0+n] as n
  // contiguous floats, and packs them itself. Called concurrently from the GEMM's threads for
  // disjoint column ranges.
  std::function<void(int64_t k, int64_t j0, int64_t n, float* out)> b_row;
};

void gemm(const GemmProblem& p, ThreadPool* pool);

}  // namespace mova::cpu
