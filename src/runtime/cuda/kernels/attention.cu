#include "runtime/cuda/kernels/attention.h"

#include <cfloat>
#include <cmath>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/element_io.cuh"

namespace mova::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kRowsPerWarp = 4;
constexpr int kQueryRows = kWarps * kRowsPerWarp;  // query rows per block
constexpr int kKeys = 32;                          // keys per tile: one per lane

// Block = 4 warps over 16 query rows of one (batch, head). Per key tile each lane scores one key
// against a query row (K rows padded by one float, so the lanes' reads hit distinct banks), the
// warp updates the row's running max and sum, and each lane accumulates D/32 output channels.
template <typename T, int D>
__global__ void __launch_bounds__(kWarps * 32) attention_kernel(AttentionArgs a, float scale) {
  constexpr int kChunks = D / 32;
  __shared__ float sq[kQueryRows][D];
  __shared__ float sk[kKeys][D + 1];
  __shared__ float sv[kKeys][D];
  const int64_t b = blockIdx.z, h = blockIdx.y, q0 = static_cast<int64_t>(blockIdx.x) * kQueryRows;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const T* q = static_cast<const T*>(a.q) + b * a.q_strides.batch + h * a.q_strides.head;
  const T* k = static_cast<const T*>(a.k) + b * a.k_strides.batch + h * a.k_strides.head;
  const T* v = static_cast<const T*>(a.v) + b * a.v_strides.batch + h * a.v_strides.head;

  for (int i = threadIdx.x; i < kQueryRows * D; i += blockDim.x) {
    const int r = i / D, c = i % D;
    sq[r][c] = q0 + r < a.q_len ? load(q + (q0 + r) * a.q_strides.pos + c) : 0.0f;
  }
  float m[kRowsPerWarp], l[kRowsPerWarp], acc[kRowsPerWarp][kChunks];
  for (int rr = 0; rr < kRowsPerWarp; ++rr) {
    m[rr] = -INFINITY;
    l[rr] = 0.0f;
    for (int c = 0; c < kChunks; ++c) acc[rr][c] = 0.0f;
  }
  const float* bias = a.bias ? a.bias + (a.bias_heads == 1 ? 0 : h) * a.q_len * a.kv_len : nullptr;

  for (int64_t k0 = 0; k0 < a.kv_len; k0 += kKeys) {
    __syncthreads();  // the previous tile is consumed (and sq is written, first time round)
    for (int i = threadIdx.x; i < kKeys * D; i += blockDim.x) {
      const int j = i / D, c = i % D;
      const bool in = k0 + j < a.kv_len;
      sk[j][c] = in ? load(k + (k0 + j) * a.k_strides.pos + c) : 0.0f;
      sv[j][c] = in ? load(v + (k0 + j) * a.v_strides.pos + c) : 0.0f;
    }
    __syncthreads();
    const int64_t key = k0 + lane;
    const bool valid = key < a.kv_len;
    const float mask_add =
        valid && a.key_mask && a.key_mask[b * a.kv_len + key] == 0.0f ? -FLT_MAX : 0.0f;
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
      const int r = warp * kRowsPerWarp + rr;
      float s = 0.0f;
      for (int c = 0; c < D; ++c) s += sq[r][c] * sk[lane][c];
      s *= scale;
      if (bias && valid && q0 + r < a.q_len) s += bias[(q0 + r) * a.kv_len + key];
      s = valid ? s + mask_add : -INFINITY;
      const float m_new = fmaxf(m[rr], warp_max(s));
      const float correction = m[rr] == -INFINITY ? 0.0f : expf(m[rr] - m_new);
      // A key with a −∞ bias weighs 0, also while every key so far had one (m_new = −∞).
      const float p = valid && s != -INFINITY ? expf(s - m_new) : 0.0f;
      l[rr] = l[rr] * correction + warp_sum(p);
      for (int c = 0; c < kChunks; ++c) acc[rr][c] *= correction;
      for (int j = 0; j < kKeys; ++j) {
        const float pj = __shfl_sync(kFullWarp, p, j);
        for (int c = 0; c < kChunks; ++c) acc[rr][c] += pj * sv[j][lane + 32 * c];
      }
      m[rr] = m_new;
    }
  }
  T* out = static_cast<T*>(a.out);
  for (int rr = 0; rr < kRowsPerWarp; ++rr) {
    const int64_t qi = q0 + warp * kRowsPerWarp + rr;
    if (qi >= a.q_len) continue;
    T* o = out + ((b * a.q_len + qi) * a.heads + h) * D;
    for (int c = 0; c < kChunks; ++c) store(o + lane + 32 * c, acc[rr][c] / l[rr]);
  }
}

template <typename T>
void launch(const AttentionArgs& a, float scale, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((a.q_len + kQueryRows - 1) / kQueryRows),
                  static_cast<unsigned>(a.heads), static_cast<unsigned>(a.batch));
  if (a.head_dim == 64)
    attention_kernel<T, 64><<<grid, kWarps * 32, 0, stream>>>(a, scale);
  else
    attention_kernel<T, 128><<<grid, kWarps * 32, 0, stream>>>(a, scale);
}

}  // namespace

void attention(const AttentionArgs& a, cudaStream_t stream) {
  MOVA_CHECK(fused_attention_takes(a.head_dim), ErrorKind::kUnsupported,
             "CUDA attention: head_dim ", a.head_dim, " (64 and 128 are supported)");
  MOVA_CHECK(a.batch >= 0 && a.q_len >= 0 && a.kv_len >= 0 && a.heads >= 0 && a.batch <= 65535 &&
                 a.heads <= 65535 && (a.q_len + kQueryRows - 1) / kQueryRows <= 0x7fffffff,
             ErrorKind::kShape, "CUDA attention: batch ", a.batch, ", ", a.heads, " heads, ",
             a.q_len, " queries, ", a.kv_len, " keys");
  if (a.batch == 0 || a.q_len == 0 || a.heads == 0) return;  // an empty output, as on the CPU
  MOVA_CHECK(a.kv_len > 0, ErrorKind::kShape, "CUDA attention: ", a.q_len, " queries and no keys");
  MOVA_CHECK(a.bias_heads == 1 || a.bias_heads == a.heads, ErrorKind::kShape,
             "CUDA attention: bias has ", a.bias_heads, " heads for ", a.heads);
  const float scale = a.scale != 0.0f ? a.scale : 1.0f / std::sqrt(static_cast<float>(a.head_dim));
  const bool bf16 = a.dtype == DType::kBF16;
  MOVA_CHECK(bf16 || a.kernel != AttentionKernel::kTensorCores, ErrorKind::kUnsupported,
             "CUDA attention: the tensor-core kernel takes BF16, not ", dtype_name(a.dtype));
  if (bf16 && a.kernel != AttentionKernel::kCudaCores) {
    attention_tensor_cores(a, scale, stream);
    return;
  }
  dispatch_storage(a.dtype, "attention",
                   [&](auto tag) { launch<decltype(tag)>(a, scale, stream); });
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
