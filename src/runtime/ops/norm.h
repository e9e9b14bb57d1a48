// Normalisations over the last dimension of an F32 tensor. Weights/biases may be any float
// dtype (checkpoints store them in BF16) and must have the last dimension's size.
#pragma once

#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

// The two LayerNorms below return F32, except on a device backend's BF16 path, where they return
// BF16: the models feed them to GEMMs only, which round their inputs to BF16 there anyway, so
// the values read are the same and the copy is half the size and never converted again (once
// per GEMM: three times for a DiT block's q, k and v).

// torch.nn.LayerNorm; weight/bias may be null (elementwise_affine=False).
Tensor layer_norm(Exec& ex, const Tensor& x, const Tensor* weight, const Tensor* bias, float eps);

// The DiTs' adaLN in one pass: LayerNorm without affine over the last dim D of x, then
// ·(1 + scale) + shift. scale and shift hold D values each (leading dims of size 1), any float
// dtype; the same per-element arithmetic as layer_norm, mul and add in sequence.
Tensor layer_norm_modulate(Exec& ex, const Tensor& x, const Tensor& shift, const Tensor& scale,
                           float eps);

// RMS norm: x * rsqrt(mean(x²) + eps) * weight (T5 / Wan style); weight may be null. Returns
// x's dtype: F32, or on a device also BF16 (computed in F32, rounded once; handoff.h).
Tensor rms_norm(Exec& ex, const Tensor& x, const Tensor* weight, float eps);

// The Wan VAE's norm over the channels (dim 0) of x [C, ...] F32, at every position:
// x / max(‖x‖₂, 1e-12) · √C · gamma[c] (F.normalize · scale · γ), followed by SiLU when
// `then_silu`, in one pass. gamma: C values of any float dtype.
Tensor channel_rms_norm(Exec& ex, const Tensor& x, const Tensor& gamma, bool then_silu);

}  // namespace mova
