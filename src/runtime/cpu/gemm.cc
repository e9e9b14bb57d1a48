#include "runtime/cpu/gemm.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "runtime/cpu/cpu_features.h"
#include "runtime/cpu/transpose_pack.h"
#include "runtime/error.h"
#include "runtime/thread_pool.h"

namespace mova::cpu {
namespace {

constexpr int64_t kKc = 256;  // depth of one packed block: MR×KC and KC×NR panels stay in L1/L2

// ---- Packing ---------------------------------------------------------------------------------

// Packs rows [i0, i0+mc) × depth [p0, p0+kc) of op(A) into MR-row panels, k-major, zero padded.
template <int MR>
void pack_a(const GemmProblem& p, int64_t i0, int64_t mc, int64_t p0, int64_t kc, bool simd,
            float* out) {
  for (int64_t ir = 0; ir < mc; ir += MR) {
    const int64_t rows = std::min<int64_t>(MR, mc - ir);
    float* dst = out + ir * kc;
    if (!p.trans_a) {
      pack_transposed(p.a + (i0 + ir) * p.lda + p0, DType::kF32, p.lda, rows, kc, MR, dst, simd);
    } else {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = p.a + (p0 + k) * p.lda + i0 + ir;
        for (int64_t r = 0; r < rows; ++r) dst[k * MR + r] = src[r];
      }
    }
    for (int64_t r = rows; r < MR; ++r)
      for (int64_t k = 0; k < kc; ++k) dst[k * MR + r] = 0.0f;
  }
}

// One row of an NR-column panel: `cols` (≤ NR) floats. A whole panel row is a fixed-size copy,
// i.e. vector moves; as a variable-size memcpy it became `rep movs`, most of the packing time.
template <int NR>
inline void copy_panel_row(const float* src, int64_t cols, float* dst) {
  if (cols == NR)
    std::memcpy(dst, src, NR * sizeof(float));
  else
    std::memcpy(dst, src, cols * sizeof(float));
}

template <int NR>
void zero_pad_panel(int64_t cols, int64_t kc, float* dst) {
  for (int64_t c = cols; c < NR; ++c)
    for (int64_t k = 0; k < kc; ++k) dst[k * NR + c] = 0.0f;
}

// Packs depth [p0, p0+kc) × columns [j0, j0+nc) of op(B) into NR-column panels, converting
// to f32, zero padded.
template <int NR>
void pack_b(const GemmProblem& p, int64_t p0, int64_t kc, int64_t j0, int64_t nc, bool simd,
            float* out) {
  for (int64_t jr = 0; jr < nc; jr += NR) {
    const int64_t cols = std::min<int64_t>(NR, nc - jr);
    float* dst = out + jr * kc;
    if (p.trans_b) {  // B[n, k]: each column of op(B) is a contiguous row of B
      const auto* first = static_cast<const char*>(p.b) +
                          ((j0 + jr) * p.ldb + p0) * static_cast<int64_t>(dtype_size(p.b_dtype));
      pack_transposed(first, p.b_dtype, p.ldb, cols, kc, NR, dst, simd);
    } else {  // B[k, n]: rows of op(B) are contiguous
      for (int64_t k = 0; k < kc; ++k) {
        const int64_t row = (p0 + k) * p.ldb + j0 + jr;
        if (p.b_dtype == DType::kF32) {
          copy_panel_row<NR>(static_cast<const float*>(p.b) + row, cols, dst + k * NR);
        } else {
          convert_to_f32(
              static_cast<const char*>(p.b) + row * static_cast<int64_t>(dtype_size(p.b_dtype)),
              p.b_dtype, dst + k * NR, cols);
        }
      }
    }
    zero_pad_panel<NR>(cols, kc, dst);
  }
}

// The same panels from rows supplied by p.b_row (gathered into `row`, nc floats, then laid out).
template <int NR>
void pack_b_rows(const GemmProblem& p, int64_t p0, int64_t kc, int64_t j0, int64_t nc, float* row,
                 float* out) {
  for (int64_t k = 0; k < kc; ++k) {
    p.b_row(p0 + k, j0, nc, row);
    for (int64_t jr = 0; jr < nc; jr += NR)
      copy_panel_row<NR>(row + jr, std::min<int64_t>(NR, nc - jr), out + jr * kc + k * NR);
  }
  const int64_t last = (nc - 1) / NR * NR;  // the only panel that can be partial
  if (nc > 0) zero_pad_panel<NR>(nc - last, kc, out + last * kc);
}

// ---- Micro-kernels ---------------------------------------------------------------------------
// Each computes an MR×NR tile: C = (load ? C : 0) + (bias ? bias : 0) + Ap·Bp over kc.

struct ScalarKernel {
  static constexpr int MR = 4, NR = 8;
  static constexpr bool kSimdPack = false;
  static void run(int64_t kc, const float* ap, const float* bp, float* c, int64_t ldc,
                  const float* bias, bool load) {
    float acc[MR][NR];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j)
        acc[i][j] = (load ? c[i * ldc + j] : 0.0f) + (bias ? bias[j] : 0.0f);
    for (int64_t k = 0; k < kc; ++k)
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) acc[i][j] += ap[k * MR + i] * bp[k * NR + j];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) c[i * ldc + j] = acc[i][j];
  }
};

#if defined(__x86_64__)
struct Avx2Kernel {
  static constexpr int MR = 6, NR = 16;
  static constexpr bool kSimdPack = true;
  __attribute__((target("avx2,fma"))) static void run(int64_t kc, const float* ap, const float* bp,
                                                      float* c, int64_t ldc, const float* bias,
                                                      bool load) {
    __m256 acc[MR][2];
    const __m256 b0i = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
    const __m256 b1i = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      acc[i][0] = load ? _mm256_add_ps(_mm256_loadu_ps(c + i * ldc), b0i) : b0i;
      acc[i][1] = load ? _mm256_add_ps(_mm256_loadu_ps(c + i * ldc + 8), b1i) : b1i;
    }
    for (int64_t k = 0; k < kc; ++k) {
      const __m256 b0 = _mm256_load_ps(bp);
      const __m256 b1 = _mm256_load_ps(bp + 8);
#pragma GCC unroll 6
      for (int i = 0; i < MR; ++i) {
        const __m256 a = _mm256_broadcast_ss(ap + i);
        acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
        acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
      }
      ap += MR;
      bp += NR;
    }
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      _mm256_storeu_ps(c + i * ldc, acc[i][0]);
      _mm256_storeu_ps(c + i * ldc + 8, acc[i][1]);
    }
  }
};

struct Avx512Kernel {
  static constexpr int MR = 12, NR = 32;
  static constexpr bool kSimdPack = true;  // every AVX-512 CPU has AVX2
  __attribute__((target("avx512f"))) static void run(int64_t kc, const float* ap, const float* bp,
                                                     float* c, int64_t ldc, const float* bias,
                                                     bool load) {
    __m512 acc[MR][2];
    const __m512 b0i = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
    const __m512 b1i = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      acc[i][0] = load ? _mm512_add_ps(_mm512_loadu_ps(c + i * ldc), b0i) : b0i;
      acc[i][1] = load ? _mm512_add_ps(_mm512_loadu_ps(c + i * ldc + 16), b1i) : b1i;
    }
    for (int64_t k = 0; k < kc; ++k) {
      const __m512 b0 = _mm512_load_ps(bp);
      const __m512 b1 = _mm512_load_ps(bp + 16);
#pragma GCC unroll 12
      for (int i = 0; i < MR; ++i) {
        const __m512 a = _mm512_set1_ps(ap[i]);
        acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
        acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
      }
      ap += MR;
      bp += NR;
    }
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      _mm512_storeu_ps(c + i * ldc, acc[i][0]);
      _mm512_storeu_ps(c + i * ldc + 16, acc[i][1]);
    }
  }
};
#endif

// ---- Blocked driver --------------------------------------------------------------------------

// Scratch buffers reused across calls on the same thread (64-byte aligned).
float* scratch(std::vector<float>& buf, size_t floats) {
  if (buf.size() < floats + 16) buf.resize(floats + 16);
  void* p = buf.data();
  size_t space = buf.size() * sizeof(float);
  return static_cast<float*>(std::align(64, floats * sizeof(float), p, space));
}

template <typename K>
void gemm_region(const GemmProblem& p, int64_t i_begin, int64_t i_end, int64_t j_begin,
                 int64_t j_end) {
  constexpr int MR = K::MR, NR = K::NR;
  constexpr int64_t kMc = MR * 16;
  constexpr int64_t kNc = NR * 64;
  thread_local std::vector<float> a_buf, b_buf, row_buf;
  float* ap = scratch(a_buf, kMc * kKc);
  float* bp = scratch(b_buf, kNc * kKc);
  float* row = p.b_row ? scratch(row_buf, kNc) : nullptr;
  alignas(64) float tile[MR * NR];
  alignas(64) float bias_tile[NR];

  for (int64_t jc = j_begin; jc < j_end; jc += kNc) {
    const int64_t nc = std::min(kNc, j_end - jc);
    for (int64_t pc = 0; pc < p.k || pc == 0; pc += kKc) {
      const int64_t kc = std::min(kKc, p.k - pc);
      const bool first = pc == 0;
      const bool load = !first || p.accumulate;
      if (p.b_row)
        pack_b_rows<NR>(p, pc, kc, jc, nc, row, bp);
      else
        pack_b<NR>(p, pc, kc, jc, nc, K::kSimdPack, bp);
      for (int64_t ic = i_begin; ic < i_end; ic += kMc) {
        const int64_t mc = std::min(kMc, i_end - ic);
        pack_a<MR>(p, ic, mc, pc, kc, K::kSimdPack, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int64_t cols = std::min<int64_t>(NR, nc - jr);
          const float* bias = (first && p.bias) ? p.bias + jc + jr : nullptr;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int64_t rows = std::min<int64_t>(MR, mc - ir);
            float* c = p.c + (ic + ir) * p.ldc + jc + jr;
            const float* a_panel = ap + ir * kc;
            const float* b_panel = bp + jr * kc;
            if (rows == MR && cols == NR) {
              K::run(kc, a_panel, b_panel, c, p.ldc, bias, load);
              continue;
            }
            // Edge tile: run the full kernel on a local tile, copy back the valid part.
            const float* tile_bias = nullptr;
            if (bias) {
              std::fill_n(bias_tile, NR, 0.0f);
              std::copy_n(bias, cols, bias_tile);
              tile_bias = bias_tile;
            }
            if (load)
              for (int64_t r = 0; r < rows; ++r) std::copy_n(c + r * p.ldc, cols, tile + r * NR);
            K::run(kc, a_panel, b_panel, tile, NR, tile_bias, load);
            for (int64_t r = 0; r < rows; ++r) std::copy_n(tile + r * NR, cols, c + r * p.ldc);
          }
        }
      }
      if (p.k == 0) break;
    }
  }
}

template <typename K>
void gemm_threaded(const GemmProblem& p, ThreadPool* pool) {
  constexpr int MR = K::MR, NR = K::NR;
  const int threads = pool ? pool->size() : 1;
  const int64_t col_panels = (p.n + NR - 1) / NR;
  const int64_t row_panels = (p.m + MR - 1) / MR;
  // Split columns first (each task then packs a disjoint part of B); rows only when the
  // output is too narrow to give every thread columns.
  const int64_t flops = p.m * p.n * std::max<int64_t>(p.k, 1);
  const int want = flops < (int64_t{1} << 18) ? 1 : threads;
  const int64_t nt = std::min<int64_t>(want, col_panels);
  const int64_t mt = std::min<int64_t>((want + nt - 1) / nt, row_panels);
  const int tasks = static_cast<int>(nt * mt);
  auto body = [&](int t) {
    const int64_t tn = t % nt, tm = t / nt;
    const int64_t j0 = col_panels * tn / nt * NR,
                  j1 = std::min(p.n, col_panels * (tn + 1) / nt * NR);
    const int64_t i0 = row_panels * tm / mt * MR,
                  i1 = std::min(p.m, row_panels * (tm + 1) / mt * MR);
    if (i0 < i1 && j0 < j1) gemm_region<K>(p, i0, i1, j0, j1);
  };
  if (tasks <= 1 || !pool) {
    for (int t = 0; t < tasks; ++t) body(t);
  } else {
    pool->run_tasks(tasks, body);
  }
}

}  // namespace

void gemm(const GemmProblem& p, ThreadPool* pool) {
  if (p.m == 0 || p.n == 0) return;
  MOVA_CHECK(
      p.b_row || p.b_dtype == DType::kF32 || p.b_dtype == DType::kBF16 || p.b_dtype == DType::kF16,
      ErrorKind::kUnsupported, "cpu gemm: weights in ", dtype_name(p.b_dtype),
      " (F32, BF16 or F16 only)");
  switch (active_isa()) {
#if defined(__x86_64__)
    case Isa::kAvx512:
      gemm_threaded<Avx512Kernel>(p, pool);
      return;
    case Isa::kAvx2:
      gemm_threaded<Avx2Kernel>(p, pool);
      return;
#endif
    default:
      gemm_threaded<ScalarKernel>(p, pool);
      return;
  }
}

}  // namespace mova::cpu
