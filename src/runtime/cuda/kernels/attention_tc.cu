// Flash attention on tensor cores (BF16 in and out, F32 accumulation): FlashAttention-2's
// forward pass written with mma.sync m16n8k16 (warp_mma.cuh). A block of 4 warps owns 64 query
// rows of one (batch, head), 16 per warp; K and V stream through shared memory in tiles of 64
// keys. Per tile each warp
//   1. computes S = Q·Kᵀ (16×64) in registers, from Q fragments loaded once;
//   2. updates its rows' running max in F32 and turns S into P = exp(S − m) in place: S's
//      accumulator layout is P·V's A-operand layout, so P is packed to BF16 without leaving
//      registers (FlashAttention-2's arrangement);
//   3. rescales its output rows by exp(m_old − m_new) and adds P·V (16×D), in registers too.
// Tiles arrive by cp.async, each overlapping the other operand's math: V_j loads during S_j,
// K_{j+1} during P_j·V_j. Shared memory holds the Q, K and V tiles, 27 KB at D = 64 and 52 KB at
// D = 128 (opted in above the 48 KB default); rows are padded by 16 bytes so the eight rows an
// ldmatrix reads fall in distinct banks. Operands whose rows are not 16-byte aligned (a view of
// a fused projection, say) are copied by plain loads instead, on the same schedule.
#include <cfloat>
#include <cstdint>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/attention.h"
#include "runtime/cuda/kernels/element_io.cuh"
#include "runtime/cuda/kernels/warp_mma.cuh"

namespace mova::cuda {
namespace {

using bf16 = __nv_bfloat16;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kRows = 16;  // query rows per warp: one mma tile high
constexpr int kBlockRows = kWarps * kRows;
constexpr int kKeys = 64;  // keys per tile

template <int D>
struct Layout {
  static constexpr int kLd = D + 8;  // shared row stride in BF16: 16 bytes of padding
  static constexpr int kQTile = kBlockRows * kLd;
  static constexpr int kKvTile = kKeys * kLd;
  static constexpr int kBytes = (kQTile + 2 * kKvTile) * 2;
};

// Starts copying a tile of `rows` rows of D BF16 values (row i at src + i·stride) into shared
// rows of Layout<D>::kLd; rows from `valid` on are zeros. kAsync: 16-byte cp.async, which needs
// src and stride 16-byte aligned; otherwise plain copies, done on return. Either way the tile
// is one commit group, so the kernel's waits count the same groups on both paths.
template <int D, bool kAsync>
__device__ void load_tile(bf16* dst, const bf16* src, int64_t stride, int rows, int64_t valid) {
  constexpr int kChunks = D / 8;  // 16-byte pieces of a row
  if constexpr (kAsync) {
    for (int i = threadIdx.x; i < rows * kChunks; i += kThreads) {
      const int r = i / kChunks, c = i % kChunks * 8;
      const bool in = r < valid;
      ptx::cp_async_16(dst + r * Layout<D>::kLd + c, in ? src + r * stride + c : src, in);
    }
  } else {
    for (int i = threadIdx.x; i < rows * D; i += kThreads) {
      const int r = i / D, c = i % D;
      dst[r * Layout<D>::kLd + c] = r < valid ? src[r * stride + c] : __float2bfloat16(0.0f);
    }
  }
  ptx::cp_async_commit();
}

template <int D, bool kAsync>
__global__ void __launch_bounds__(kThreads) attention_tc_kernel(AttentionArgs a, float scale) {
  using L = Layout<D>;
  constexpr int kDChunks = D / 16;       // k-steps of Q·Kᵀ
  constexpr int kKeyBlocks = kKeys / 8;  // 8-key column blocks of S
  constexpr int kOutBlocks = D / 8;      // 8-channel column blocks of O
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* qs = reinterpret_cast<bf16*>(smem);
  bf16* ks = qs + L::kQTile;
  bf16* vs = ks + L::kKvTile;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int g = lane / 4, t = lane % 4;  // fragment row and column pair (warp_mma.cuh)

  const int64_t b = blockIdx.z, h = blockIdx.y, q0 = static_cast<int64_t>(blockIdx.x) * kBlockRows;
  const bf16* q = static_cast<const bf16*>(a.q) + b * a.q_strides.batch + h * a.q_strides.head;
  const bf16* k = static_cast<const bf16*>(a.k) + b * a.k_strides.batch + h * a.k_strides.head;
  const bf16* v = static_cast<const bf16*>(a.v) + b * a.v_strides.batch + h * a.v_strides.head;
  const int64_t tiles = (a.kv_len + kKeys - 1) / kKeys;

  load_tile<D, kAsync>(qs, q + q0 * a.q_strides.pos, a.q_strides.pos, kBlockRows, a.q_len - q0);
  load_tile<D, kAsync>(ks, k, a.k_strides.pos, kKeys, a.kv_len);
  load_tile<D, kAsync>(vs, v, a.v_strides.pos, kKeys, a.kv_len);
  ptx::cp_async_wait<1>();  // Q and K_0; V_0 may still be in flight
  __syncthreads();

  // Matrices 0..3 of each ldmatrix: rows 0-7 / 8-15 of the warp's 16, columns 0-7 / 8-15.
  uint32_t qf[kDChunks][4];
  {
    const bf16* row = qs + (warp * kRows + lane % 8 + lane / 8 % 2 * 8) * L::kLd + lane / 16 * 8;
    for (int c = 0; c < kDChunks; ++c) ptx::ldmatrix_x4(qf[c], row + c * 16);
  }

  // This lane's two query rows (g and g + 8 of the warp's 16), as fragment elements 0-1 and 2-3.
  const int64_t rows[2] = {q0 + warp * kRows + g, q0 + warp * kRows + g + 8};
  const float* bias[2] = {nullptr, nullptr};
  for (int r = 0; r < 2; ++r)
    if (a.bias && rows[r] < a.q_len)
      bias[r] = a.bias + ((a.bias_heads == 1 ? 0 : h) * a.q_len + rows[r]) * a.kv_len;
  const float* key_mask = a.key_mask ? a.key_mask + b * a.kv_len : nullptr;
  float m[2] = {-INFINITY, -INFINITY};
  float l[2] = {0.0f, 0.0f};  // this lane's share of the row sums; the four lanes add up at the end
  float o[kOutBlocks][4];
  for (auto& block : o)
    for (float& x : block) x = 0.0f;

  for (int64_t j = 0; j < tiles; ++j) {
    const int64_t k0 = j * kKeys;
    // 1. S = Q·K_jᵀ. B[d][key] = K[key][d], so K's rows are B's columns: a plain ldmatrix, its
    //    matrices keys 0-7 / 8-15 of 16, channels 0-7 / 8-15 of the chunk.
    float s[kKeyBlocks][4];
    for (auto& block : s)
      for (float& x : block) x = 0.0f;
    {
      const bf16* row = ks + (lane % 8 + lane / 16 * 8) * L::kLd + lane / 8 % 2 * 8;
      for (int n = 0; n < kKeyBlocks / 2; ++n)
        for (int c = 0; c < kDChunks; ++c) {
          uint32_t kb[4];
          ptx::ldmatrix_x4(kb, row + n * 16 * L::kLd + c * 16);
          ptx::mma_bf16_16816(s[2 * n], qf[c], kb[0], kb[1]);
          ptx::mma_bf16_16816(s[2 * n + 1], qf[c], kb[2], kb[3]);
        }
    }
    __syncthreads();  // every warp is done with K_j
    if (j + 1 < tiles)
      load_tile<D, kAsync>(ks, k + (k0 + kKeys) * a.k_strides.pos, a.k_strides.pos, kKeys,
                           a.kv_len - k0 - kKeys);
    else
      ptx::cp_async_commit();  // an empty group keeps the count of the waits below

    // 2. Online softmax. Element i of block n: row i / 2, key k0 + 8n + 2t + i % 2.
    float tile_max[2] = {-INFINITY, -INFINITY};
    for (int n = 0; n < kKeyBlocks; ++n)
      for (int i = 0; i < 4; ++i) {
        const int64_t key = k0 + 8 * n + 2 * t + i % 2;
        float x = -INFINITY;
        if (key < a.kv_len) {
          x = s[n][i] * scale;
          if (bias[i / 2]) x += bias[i / 2][key];
          if (key_mask && key_mask[key] == 0.0f) x += -FLT_MAX;
        }
        s[n][i] = x;
        tile_max[i / 2] = fmaxf(tile_max[i / 2], x);
      }
    float correction[2];
    for (int r = 0; r < 2; ++r) {
      // The four lanes of a row group hold the tile's 64 keys of their rows between them.
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(kFullWarp, tile_max[r], 1));
      tile_max[r] = fmaxf(tile_max[r], __shfl_xor_sync(kFullWarp, tile_max[r], 2));
      const float m_new = fmaxf(m[r], tile_max[r]);
      // −∞ only while every key so far has a −∞ bias; then p and the correction are 0.
      correction[r] = m[r] == -INFINITY ? 0.0f : __expf(m[r] - m_new);
      m[r] = m_new;
      l[r] *= correction[r];
    }
    // P as A fragments, one per 16 keys: block n holds columns 0-7 (n even) or 8-15 (n odd).
    uint32_t pf[kKeys / 16][4];
    for (int n = 0; n < kKeyBlocks; ++n) {
      float p[4];
      for (int i = 0; i < 4; ++i) {
        p[i] = s[n][i] == -INFINITY ? 0.0f : __expf(s[n][i] - m[i / 2]);
        l[i / 2] += p[i];
      }
      pf[n / 2][n % 2 * 2] = ptx::pack_bf16x2(p[0], p[1]);
      pf[n / 2][n % 2 * 2 + 1] = ptx::pack_bf16x2(p[2], p[3]);
    }
    for (auto& block : o)
      for (int i = 0; i < 4; ++i) block[i] *= correction[i / 2];

    ptx::cp_async_wait<1>();  // V_j; K_{j+1} may still be in flight
    __syncthreads();
    // 3. O += P·V_j. B[key][d] = V[key][d] is row-major, so ldmatrix transposes to get B's pairs
    //    down the keys; its matrices are keys 0-7 / 8-15, channels 0-7 / 8-15 of 16.
    {
      const bf16* row = vs + (lane % 8 + lane / 8 % 2 * 8) * L::kLd + lane / 16 * 8;
      for (int c = 0; c < kKeys / 16; ++c)
        for (int n = 0; n < kOutBlocks / 2; ++n) {
          uint32_t vb[4];
          ptx::ldmatrix_x4_trans(vb, row + c * 16 * L::kLd + n * 16);
          ptx::mma_bf16_16816(o[2 * n], pf[c], vb[0], vb[1]);
          ptx::mma_bf16_16816(o[2 * n + 1], pf[c], vb[2], vb[3]);
        }
    }
    __syncthreads();  // every warp is done with V_j
    if (j + 1 < tiles)
      load_tile<D, kAsync>(vs, v + (k0 + kKeys) * a.v_strides.pos, a.v_strides.pos, kKeys,
                           a.kv_len - k0 - kKeys);
    else
      ptx::cp_async_commit();
    ptx::cp_async_wait<1>();  // K_{j+1}
    __syncthreads();
  }

  for (float& sum : l) {
    sum += __shfl_xor_sync(kFullWarp, sum, 1);
    sum += __shfl_xor_sync(kFullWarp, sum, 2);
  }
  for (int r = 0; r < 2; ++r) {
    if (rows[r] >= a.q_len) continue;
    const float inv = 1.0f / l[r];
    // Channels 8n + 2t and + 1: one 4-byte store (D is even, the output contiguous).
    auto* out = reinterpret_cast<uint32_t*>(static_cast<bf16*>(a.out) +
                                            ((b * a.q_len + rows[r]) * a.heads + h) * D + 2 * t);
    for (int n = 0; n < kOutBlocks; ++n)
      out[4 * n] = ptx::pack_bf16x2(o[n][2 * r] * inv, o[n][2 * r + 1] * inv);
  }
}

template <int D, bool kAsync>
void launch_kernel(const AttentionArgs& a, float scale, cudaStream_t stream) {
  constexpr int bytes = Layout<D>::kBytes;
  MOVA_CUDA_CHECK(cudaFuncSetAttribute(attention_tc_kernel<D, kAsync>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const dim3 grid(static_cast<unsigned>((a.q_len + kBlockRows - 1) / kBlockRows),
                  static_cast<unsigned>(a.heads), static_cast<unsigned>(a.batch));
  attention_tc_kernel<D, kAsync><<<grid, kThreads, bytes, stream>>>(a, scale);
}

// Whether every row of the operand starts 16-byte aligned, as cp.async needs.
bool rows_aligned(const void* p, const HeadStrides& s) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0 && s.batch % 8 == 0 && s.pos % 8 == 0 &&
         s.head % 8 == 0;
}

template <int D>
void launch(const AttentionArgs& a, float scale, cudaStream_t stream) {
  if (rows_aligned(a.q, a.q_strides) && rows_aligned(a.k, a.k_strides) &&
      rows_aligned(a.v, a.v_strides))
    launch_kernel<D, true>(a, scale, stream);
  else
    launch_kernel<D, false>(a, scale, stream);
}

}  // namespace

void attention_tensor_cores(const AttentionArgs& a, float scale, cudaStream_t stream) {
  // Output channels are stored in pairs, 4 bytes at a time.
  MOVA_CHECK(reinterpret_cast<uintptr_t>(a.out) % 4 == 0, ErrorKind::kInternal,
             "CUDA attention: the BF16 output must be 4-byte aligned");
  if (a.head_dim == 64)
    launch<64>(a, scale, stream);
  else
    launch<128>(a, scale, stream);
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
