// Flash attention on tensor cores (BF16 in and out, F32 accumulation), FlashAttention-2's
// structure written with WMMA: a block of 4 warps owns 64 query rows of one (batch, head), 16
// per warp; K and V stream through shared memory in tiles of 64 keys. Per tile each warp
//   1. computes S = Q·Kᵀ (16×64) on tensor cores into its shared scratch,
//   2. updates its rows' running max and sum in F32 (two lanes per row) and writes P = exp(S−m)
//      as BF16,
//   3. computes P·V (16×D) on tensor cores into the same scratch and adds it to the row's
//      running output, rescaled by exp(m_old − m_new), which the lanes hold in registers.
// Q fragments stay in registers for the whole key loop. Shared memory per block: K and V tiles
// plus 4 per-warp scratches, about 78 KB at head_dim 128 (opted in above the 48 KB default).
#include <mma.h>

#include <cfloat>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/attention.h"
#include "runtime/cuda/kernels/element_io.cuh"

namespace mova::cuda {
namespace {

namespace wmma = nvcuda::wmma;
using bf16 = __nv_bfloat16;

constexpr int kWarps = 4;
constexpr int kRows = 16;  // query rows per warp (one WMMA tile high)
constexpr int kBlockRows = kWarps * kRows;
constexpr int kKeys = 64;            // keys per tile
constexpr int kScoreLd = kKeys + 4;  // F32 scratch stride for S (multiple of 4, as WMMA needs)
constexpr int kPLd = kKeys + 8;      // BF16 stride for P (multiple of 8)

template <int D>
struct Layout {
  static constexpr int kLd = D + 8;                      // K, V (and Q) tile row stride, BF16
  static constexpr int kOutLd = D + 4;                   // F32 scratch stride for P·V
  static constexpr int kTileBytes = kKeys * kLd * 2;     // one K or V tile
  static constexpr int kScratchFloats = kRows * kOutLd;  // ≥ kRows × kScoreLd
  static constexpr int kWarpBytes = kScratchFloats * 4 + kRows * kPLd * 2;
  static constexpr int kBytes = 2 * kTileBytes + kWarps * kWarpBytes;
  static_assert(kScratchFloats >= kRows * kScoreLd, "S must fit the P·V scratch");
  static_assert(kTileBytes % 128 == 0 && kWarpBytes % 32 == 0, "WMMA needs 32-byte alignment");
};

// Copies `rows` rows of D BF16 values (row i at src + i·stride) into shared rows of ld
// elements; rows past `valid` are zero.
template <int D>
__device__ void load_tile(bf16* dst, const bf16* src, int64_t stride, int rows, int64_t valid) {
  for (int i = threadIdx.x; i < rows * D; i += blockDim.x) {
    const int r = i / D, c = i % D;
    dst[r * Layout<D>::kLd + c] = r < valid ? src[r * stride + c] : __float2bfloat16(0.0f);
  }
}

template <int D>
__global__ void __launch_bounds__(kWarps * 32) attention_tc_kernel(AttentionArgs a, float scale) {
  using L = Layout<D>;
  constexpr int kChunks = D / 16;
  constexpr int kHalf = D / 2;  // output columns per lane (two lanes per row)
  extern __shared__ __align__(128) unsigned char smem[];
  bf16* ks = reinterpret_cast<bf16*>(smem);
  bf16* vs = reinterpret_cast<bf16*>(smem + L::kTileBytes);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  unsigned char* mine = smem + 2 * L::kTileBytes + warp * L::kWarpBytes;
  float* scratch = reinterpret_cast<float*>(mine);
  bf16* ps = reinterpret_cast<bf16*>(mine + L::kScratchFloats * 4);

  const int64_t b = blockIdx.z, h = blockIdx.y, q0 = static_cast<int64_t>(blockIdx.x) * kBlockRows;
  const bf16* q = static_cast<const bf16*>(a.q) + b * a.q_strides.batch + h * a.q_strides.head;
  const bf16* k = static_cast<const bf16*>(a.k) + b * a.k_strides.batch + h * a.k_strides.head;
  const bf16* v = static_cast<const bf16*>(a.v) + b * a.v_strides.batch + h * a.v_strides.head;

  // Q through shared memory (the K tile's space, before the first K tile) into fragments.
  load_tile<D>(ks, q + q0 * a.q_strides.pos, a.q_strides.pos, kBlockRows, a.q_len - q0);
  __syncthreads();
  wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> qf[kChunks];
  for (int c = 0; c < kChunks; ++c)
    wmma::load_matrix_sync(qf[c], ks + warp * kRows * L::kLd + c * 16, L::kLd);

  const int row = lane / 2, half = lane % 2;  // this lane's query row and column half
  const int64_t qi = q0 + warp * kRows + row;
  float m = -INFINITY, l = 0.0f, o[kHalf];
  for (int c = 0; c < kHalf; ++c) o[c] = 0.0f;
  const float* bias = a.bias && qi < a.q_len
                          ? a.bias + ((a.bias_heads == 1 ? 0 : h) * a.q_len + qi) * a.kv_len
                          : nullptr;

  for (int64_t k0 = 0; k0 < a.kv_len; k0 += kKeys) {
    __syncthreads();  // every warp is done with the previous tiles (and with Q's staging)
    load_tile<D>(ks, k + k0 * a.k_strides.pos, a.k_strides.pos, kKeys, a.kv_len - k0);
    load_tile<D>(vs, v + k0 * a.v_strides.pos, a.v_strides.pos, kKeys, a.kv_len - k0);
    __syncthreads();

    // 1. S = Q·Kᵀ: B[d][key] = K[key][d] is K's tile read column-major.
    for (int n = 0; n < kKeys / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> s;
      wmma::fill_fragment(s, 0.0f);
      for (int c = 0; c < kChunks; ++c) {
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> kf;
        wmma::load_matrix_sync(kf, ks + n * 16 * L::kLd + c * 16, L::kLd);
        wmma::mma_sync(s, qf[c], kf, s);
      }
      wmma::store_matrix_sync(scratch + n * 16, s, kScoreLd, wmma::mem_row_major);
    }
    __syncwarp();

    // 2. Online softmax over this lane's 32 keys of its row; the pair of lanes combines.
    float sv[kKeys / 2];
    float tile_max = -INFINITY;
    for (int j = 0; j < kKeys / 2; ++j) {
      const int col = half * (kKeys / 2) + j;
      const int64_t key = k0 + col;
      float x = -INFINITY;
      if (key < a.kv_len) {
        x = scratch[row * kScoreLd + col] * scale;
        if (bias) x += bias[key];
        if (a.key_mask && a.key_mask[b * a.kv_len + key] == 0.0f) x += -FLT_MAX;
      }
      sv[j] = x;
      tile_max = fmaxf(tile_max, x);
    }
    tile_max = fmaxf(tile_max, __shfl_xor_sync(kFullWarp, tile_max, 1));
    // −∞ only while every key so far has a −∞ bias; then p and the correction below are 0.
    const float m_new = fmaxf(m, tile_max);
    const float correction = m == -INFINITY ? 0.0f : __expf(m - m_new);
    float sum = 0.0f;
    for (int j = 0; j < kKeys / 2; ++j) {
      const float p = sv[j] == -INFINITY ? 0.0f : __expf(sv[j] - m_new);
      sum += p;
      ps[row * kPLd + half * (kKeys / 2) + j] = __float2bfloat16(p);
    }
    sum += __shfl_xor_sync(kFullWarp, sum, 1);
    l = l * correction + sum;
    m = m_new;
    for (int c = 0; c < kHalf; ++c) o[c] *= correction;
    __syncwarp();

    // 3. P·V into the scratch (S is consumed), then into the running output.
    for (int n = 0; n < kChunks; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
      for (int kk = 0; kk < kKeys / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> pf;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> vf;
        wmma::load_matrix_sync(pf, ps + kk * 16, kPLd);
        wmma::load_matrix_sync(vf, vs + kk * 16 * L::kLd + n * 16, L::kLd);
        wmma::mma_sync(acc, pf, vf, acc);
      }
      wmma::store_matrix_sync(scratch + n * 16, acc, L::kOutLd, wmma::mem_row_major);
    }
    __syncwarp();
    for (int c = 0; c < kHalf; ++c) o[c] += scratch[row * L::kOutLd + half * kHalf + c];
    __syncwarp();  // the scratch is rewritten by the next tile's S
  }

  if (qi < a.q_len) {
    bf16* out = static_cast<bf16*>(a.out) + ((b * a.q_len + qi) * a.heads + h) * D + half * kHalf;
    const float inv = 1.0f / l;
    for (int c = 0; c < kHalf; ++c) out[c] = __float2bfloat16(o[c] * inv);
  }
}

template <int D>
void launch(const AttentionArgs& a, float scale, cudaStream_t stream) {
  constexpr int bytes = Layout<D>::kBytes;
  MOVA_CUDA_CHECK(cudaFuncSetAttribute(attention_tc_kernel<D>,
                                       cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  const dim3 grid(static_cast<unsigned>((a.q_len + kBlockRows - 1) / kBlockRows),
                  static_cast<unsigned>(a.heads), static_cast<unsigned>(a.batch));
  attention_tc_kernel<D><<<grid, kWarps * 32, bytes, stream>>>(a, scale);
}

}  // namespace

void attention_tensor_cores(const AttentionArgs& a, float scale, cudaStream_t stream) {
  if (a.head_dim == 64)
    launch<64>(a, scale, stream);
  else
    launch<128>(a, scale, stream);
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
