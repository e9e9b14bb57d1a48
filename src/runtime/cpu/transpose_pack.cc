#include "runtime/cpu/transpose_pack.h"

#include <immintrin.h>

namespace mova::cpu {
namespace {

// Rows [r_begin, r_end) × depth [k_begin, kc), one element at a time.
void pack_scalar(const void* src, DType dtype, int64_t ld, int64_t r_begin, int64_t r_end,
                 int64_t k_begin, int64_t kc, int width, float* dst) {
  for (int64_t r = r_begin; r < r_end; ++r) {
    const int64_t row = r * ld;
    switch (dtype) {
      case DType::kBF16: {
        const uint16_t* s = static_cast<const uint16_t*>(src) + row;
        for (int64_t k = k_begin; k < kc; ++k) dst[k * width + r] = bf16_to_f32(s[k]);
        break;
      }
      case DType::kF16: {
        const uint16_t* s = static_cast<const uint16_t*>(src) + row;
        for (int64_t k = k_begin; k < kc; ++k) dst[k * width + r] = f16_to_f32(s[k]);
        break;
      }
      default: {
        const float* s = static_cast<const float*>(src) + row;
        for (int64_t k = k_begin; k < kc; ++k) dst[k * width + r] = s[k];
        break;
      }
    }
  }
}

#if defined(__x86_64__)
// bf16 is the top half of an f32: widen and shift.
__attribute__((target("avx2"))) inline __m256 load8(const void* src, DType dtype, int64_t index) {
  if (dtype == DType::kBF16) {
    const __m128i h = _mm_loadu_si128(
        reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(src) + index));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
  return _mm256_loadu_ps(static_cast<const float*>(src) + index);
}

__attribute__((target("avx2"))) inline __m128 load4(const void* src, DType dtype, int64_t index) {
  if (dtype == DType::kBF16) {
    const __m128i h = _mm_loadl_epi64(
        reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(src) + index));
    return _mm_castsi128_ps(_mm_slli_epi32(_mm_cvtepu16_epi32(h), 16));
  }
  return _mm_loadu_ps(static_cast<const float*>(src) + index);
}

__attribute__((target("avx2"))) inline void transpose8x8(__m256 v[8]) {
  __m256 t[8], s[8];
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(v[2 * i], v[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(v[2 * i], v[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h) {  // rows 0-3, then 4-7
    const __m256* u = t + 4 * h;
    s[4 * h + 0] = _mm256_shuffle_ps(u[0], u[2], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * h + 1] = _mm256_shuffle_ps(u[0], u[2], _MM_SHUFFLE(3, 2, 3, 2));
    s[4 * h + 2] = _mm256_shuffle_ps(u[1], u[3], _MM_SHUFFLE(1, 0, 1, 0));
    s[4 * h + 3] = _mm256_shuffle_ps(u[1], u[3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int i = 0; i < 4; ++i) {
    v[i] = _mm256_permute2f128_ps(s[i], s[4 + i], 0x20);
    v[4 + i] = _mm256_permute2f128_ps(s[i], s[4 + i], 0x31);
  }
}

// F32 and BF16 sources (F16 stays scalar: it would need F16C, and no published weight uses it).
__attribute__((target("avx2"))) void pack_avx2(const void* src, DType dtype, int64_t ld,
                                               int64_t rows, int64_t kc, int width, float* dst) {
  int64_t r0 = 0;
  for (; r0 + 8 <= rows; r0 += 8) {
    int64_t k = 0;
    for (; k + 8 <= kc; k += 8) {
      __m256 v[8];
      for (int i = 0; i < 8; ++i) v[i] = load8(src, dtype, (r0 + i) * ld + k);
      transpose8x8(v);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(dst + (k + i) * width + r0, v[i]);
    }
    pack_scalar(src, dtype, ld, r0, r0 + 8, k, kc, width, dst);
  }
  for (; r0 + 4 <= rows; r0 += 4) {
    int64_t k = 0;
    for (; k + 4 <= kc; k += 4) {
      __m128 v0 = load4(src, dtype, r0 * ld + k), v1 = load4(src, dtype, (r0 + 1) * ld + k),
             v2 = load4(src, dtype, (r0 + 2) * ld + k), v3 = load4(src, dtype, (r0 + 3) * ld + k);
      _MM_TRANSPOSE4_PS(v0, v1, v2, v3);
      _mm_storeu_ps(dst + k * width + r0, v0);
      _mm_storeu_ps(dst + (k + 1) * width + r0, v1);
      _mm_storeu_ps(dst + (k + 2) * width + r0, v2);
      _mm_storeu_ps(dst + (k + 3) * width + r0, v3);
    }
    pack_scalar(src, dtype, ld, r0, r0 + 4, k, kc, width, dst);
  }
  pack_scalar(src, dtype, ld, r0, rows, 0, kc, width, dst);
}
#endif

}  // namespace

void pack_transposed(const void* src, DType dtype, int64_t ld, int64_t rows, int64_t kc, int width,
                     float* dst, bool simd) {
#if defined(__x86_64__)
  if (simd && dtype != DType::kF16) {
    pack_avx2(src, dtype, ld, rows, kc, width, dst);
    return;
  }
#endif
  pack_scalar(src, dtype, ld, 0, rows, 0, kc, width, dst);
}

}  // namespace mova::cpu
