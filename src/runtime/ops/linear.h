// Matrix products over tensors. Activations are F32 (on a device also BF16: a BF16 path's
// hand-off, runtime/ops/handoff.h); weights may be F32, BF16 or F16 and are accumulated in f32.
// The result is F32, except a linear's asked for as an operand on a BF16 path.
#pragma once

#include "runtime/exec.h"
#include "runtime/ops/handoff.h"
#include "runtime/tensor.h"

namespace mova {

// y[..., out] = x[..., in] · weight[out, in]ᵀ + bias[out]  (torch.nn.Linear).
// `result`: what the caller feeds it to (handoff.h); the CPU and the F32 path ignore it.
Tensor linear(Exec& ex, const Tensor& x, const Tensor& weight, const Tensor* bias = nullptr,
              LinearResult result = LinearResult::kF32);

// c[m, n] = a[m, k] · b[k, n], or a · bᵀ with b[n, k] when trans_b.
Tensor matmul(Exec& ex, const Tensor& a, const Tensor& b, bool trans_b = false);

}  // namespace mova
