// Scaled dot-product attention on device memory with the flash-attention recurrence (online
// softmax over key tiles): no [Lq, Lk] buffer, memory is the output. Semantics are those of
// runtime/ops/attention.h: out = softmax(q·kᵀ·scale + bias + mask)·v per batch and head, padded
// keys get −FLT_MAX (a fully padded row becomes uniform, as in PyTorch).
//
// This is the correctness-first kernel (F32 arithmetic on CUDA cores, F32 or BF16 storage);
// the tensor-core path that the speed goal needs is still to come (issue 7).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "runtime/dtype.h"

namespace mova::cuda {

// Strides in elements of a [B, L, H, D] operand whose last dimension is contiguous.
struct HeadStrides {
  int64_t batch = 0, pos = 0, head = 0;
};

struct AttentionArgs {
  const void* q = nullptr;  // [B, Lq, H, D]
  const void* k = nullptr;  // [B, Lk, H, D]
  const void* v = nullptr;  // [B, Lk, H, D]
  void* out = nullptr;      // [B, Lq, H, D], contiguous
  HeadStrides q_strides, k_strides, v_strides;
  DType dtype = DType::kF32;  // of q, k, v and out
  int64_t batch = 0, q_len = 0, kv_len = 0, heads = 0, head_dim = 0;
  float scale = 0.0f;               // 0: 1/sqrt(head_dim)
  const float* bias = nullptr;      // optional [bias_heads, Lq, Lk] F32
  int64_t bias_heads = 1;           // 1 or heads
  const float* key_mask = nullptr;  // optional [B, Lk] F32; 0 marks a padded key
};

// head_dim 64 or 128 (UMT5-XXL and the DiTs/bridge); others are a kUnsupported error.
void attention(const AttentionArgs& args, cudaStream_t stream = nullptr);

}  // namespace mova::cuda
