// Scaled dot-product attention on device memory with the flash-attention recurrence (online
// softmax over key tiles): no [Lq, Lk] buffer, memory is the output. Semantics are those of
// runtime/ops/attention.h: out = softmax(q·kᵀ·scale + bias + mask)·v per batch and head, padded
// keys get −FLT_MAX (a fully padded row becomes uniform, as in PyTorch).
//
// Two kernels: BF16 runs on tensor cores (mma.sync m16n8k16, F32 accumulation; P is rounded to
// BF16 before P·V, as FlashAttention-2 does), F32 on CUDA cores in F32 throughout (the parity
// path). `kernel` forces one, for tests and benchmarks.
#pragma once

#include <cstdint>
#include <initializer_list>

#include <cuda_runtime_api.h>

#include "runtime/cuda/attention_plan.h"
#include "runtime/dtype.h"

namespace mova::cuda {

enum class AttentionKernel { kAuto, kCudaCores, kTensorCores };

struct AttentionArgs {
  const void* q = nullptr;  // [B, Lq, H, D]
  const void* k = nullptr;  // [B, Lk, H, D]
  const void* v = nullptr;  // [B, Lk, H, D]
  void* out = nullptr;      // [B, Lq, H, D], contiguous
  HeadStrides q_strides, k_strides, v_strides;
  DType dtype = DType::kF32;  // of q, k, v and out
  int64_t batch = 0, q_len = 0, kv_len = 0, heads = 0, head_dim = 0;
  float scale = 0.0f;                               // 0: 1/sqrt(head_dim)
  const float* bias = nullptr;                      // optional [bias_heads, Lq, Lk] F32
  int64_t bias_heads = 1;                           // 1 or heads
  const float* key_mask = nullptr;                  // optional [B, Lk] F32; 0 marks a padded key
  AttentionKernel kernel = AttentionKernel::kAuto;  // tensor cores need BF16

  // The device pointers this struct carries into a kernel; the CUDA emulator
  // (tests/cuda_emulator) checks each as it checks a kernel's plain pointer arguments.
  template <class F>
  void for_each_pointer(F&& f) const {
    for (const void* p : {q, k, v, static_cast<const void*>(out), static_cast<const void*>(bias),
                          static_cast<const void*>(key_mask)})
      f(p);
  }
};

// The head sizes these kernels take: UMT5-XXL's 64 and the DiTs'/bridge's 128. The backend
// composes attention for other sizes from GEMMs and score_softmax.h (cuda_backend.cc).
constexpr bool fused_attention_takes(int64_t head_dim) {
  return head_dim == 64 || head_dim == 128;
}

// head_dim as fused_attention_takes; others are a kUnsupported error.
void attention(const AttentionArgs& args, cudaStream_t stream = nullptr);

// The tensor-core kernel (attention_tc.cu); called by attention() for BF16, arguments checked.
void attention_tensor_cores(const AttentionArgs& args, float scale, cudaStream_t stream);

}  // namespace mova::cuda
