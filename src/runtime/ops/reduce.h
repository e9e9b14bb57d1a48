// Reductions and softmax over F32 tensors.
#pragma once

#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

enum class ReduceOp { kSum, kMean, kMax };

// Reduces dimension `dim`; the result drops it unless keepdim. Sums accumulate in f64.
Tensor reduce(Exec& ex, ReduceOp op, const Tensor& x, int dim, bool keepdim = false);
inline Tensor sum(Exec& ex, const Tensor& x, int dim, bool keepdim = false) {
  return reduce(ex, ReduceOp::kSum, x, dim, keepdim);
}
inline Tensor mean(Exec& ex, const Tensor& x, int dim, bool keepdim = false) {
  return reduce(ex, ReduceOp::kMean, x, dim, keepdim);
}
inline Tensor max(Exec& ex, const Tensor& x, int dim, bool keepdim = false) {
  return reduce(ex, ReduceOp::kMax, x, dim, keepdim);
}

// Softmax over the last dimension.
Tensor softmax(Exec& ex, const Tensor& x);

}  // namespace mova
