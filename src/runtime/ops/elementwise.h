// Pointwise ops on F32 tensors. Binary ops broadcast like PyTorch (trailing dims aligned,
// size-1 dims stretched); inputs may be non-contiguous views, outputs are contiguous.
#pragma once

#include "runtime/exec.h"
#include "runtime/ops/binary_op.h"
#include "runtime/tensor.h"

namespace mova {

Tensor binary(Exec& ex, BinaryOp op, const Tensor& a, const Tensor& b);
inline Tensor add(Exec& ex, const Tensor& a, const Tensor& b) {
  return binary(ex, BinaryOp::kAdd, a, b);
}
inline Tensor sub(Exec& ex, const Tensor& a, const Tensor& b) {
  return binary(ex, BinaryOp::kSub, a, b);
}
inline Tensor mul(Exec& ex, const Tensor& a, const Tensor& b) {
  return binary(ex, BinaryOp::kMul, a, b);
}
inline Tensor div(Exec& ex, const Tensor& a, const Tensor& b) {
  return binary(ex, BinaryOp::kDiv, a, b);
}

// x + gate·y for x and y of one shape, gate's D values (leading dims of size 1) broadcast over
// the last dim: the DiTs' gated residual in one pass, the same arithmetic as add(x, mul(gate, y)).
Tensor gated_residual(Exec& ex, const Tensor& x, const Tensor& gate, const Tensor& y);

// y = x * scale + shift
Tensor affine(Exec& ex, const Tensor& x, float scale, float shift);

// Return x's dtype: F32, or on a device also BF16 (computed in F32, rounded once; handoff.h).
Tensor gelu(Exec& ex, const Tensor& x, bool tanh_approximation);
Tensor silu(Exec& ex, const Tensor& x);

// DAC's Snake over x [C, L] F32: x + 1/(α[c] + 1e-9) · sin²(α[c]·x); alpha: C values, F32.
Tensor snake(Exec& ex, const Tensor& x, const Tensor& alpha);

// PyTorch broadcast of two shapes; throws naming both when incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace mova
