// Scaled dot-product attention: out = softmax(q·kᵀ·scale + bias + mask)·v, per batch and head.
// Computed in tiles with an online softmax (the flash-attention recurrence), so no [Lq, Lk]
// score matrix is ever allocated: memory is the output plus a few tiles per thread.
#pragma once

#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

struct AttentionOptions {
  float scale = 0.0f;  // 0: 1/sqrt(head_dim)
  // Additive bias [Hb, Lq, Lk] with Hb = 1 or H (e.g. T5 relative position bias), F32.
  const Tensor* bias = nullptr;
  // Key mask [B, Lk], F32: 0 marks a padded key. Padded keys get -FLT_MAX added to their
  // scores, as PyTorch does with finfo.min, so a row whose keys are all padded becomes uniform.
  const Tensor* key_mask = nullptr;
};

// q [B, Lq, H, D], k [B, Lk, H, D], v [B, Lk, H, Dv], F32 (on a device also BF16, handoff.h)
// — the layout linear projections produce, viewed as heads; any strides with a contiguous last
// dim. Returns [B, Lq, H, Dv], F32; on a device backend's BF16 path BF16, as its kernels write
// it (the models pass it to a GEMM, which reads BF16 there, or to concat, which converts).
Tensor attention(Exec& ex, const Tensor& q, const Tensor& k, const Tensor& v,
                 const AttentionOptions& options = {});

}  // namespace mova
