// Matrix products over tensors. Activations are F32 (on a device also BF16: a BF16 path's
// LayerNorm or attention output, runtime/ops/norm.h, attention.h); weights may be F32, BF16 or
// F16 and are accumulated in f32. The result is F32.
#pragma once

#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

// y[..., out] = x[..., in] · weight[out, in]ᵀ + bias[out]  (torch.nn.Linear).
Tensor linear(Exec& ex, const Tensor& x, const Tensor& weight, const Tensor* bias = nullptr);

// c[m, n] = a[m, k] · b[k, n], or a · bᵀ with b[n, k] when trans_b.
Tensor matmul(Exec& ex, const Tensor& a, const Tensor& b, bool trans_b = false);

}  // namespace mova
