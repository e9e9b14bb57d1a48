// AVX2 building blocks of the elementwise kernels (activations, the online softmax): exp on
// eight floats, and the lane mask of a row's tail. Callers are compiled with the same target
// attribute and chosen at run time (cpu_features.h).
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>

#include <cstdint>

namespace mova::cpu {

__attribute__((target("avx2"))) inline __m256 pow2_8(__m256i e) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(e, _mm256_set1_epi32(127)), 23));
}

// Cephes' expf: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two so n·C1 is exact), a
// degree-6 polynomial for e^r, then ·2^n. Measured against float64 exp: ≤ 2 ulp over the whole
// normal range (tests/runtime/test_simd_math.cc). 2^n is applied as two factors so that n = 128
// (x just below ln FLT_MAX) and gradual underflow are right: x > ln FLT_MAX gives +inf,
// −∞ and x < −104 give 0, NaN stays NaN.
__attribute__((target("avx2,fma"))) inline __m256 exp8(__m256 x) {
  const __m256 xc = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(89.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 e_r =
      _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i half = _mm256_srai_epi32(ni, 1);
  const __m256i rest = _mm256_sub_epi32(ni, half);
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(e_r, pow2_8(half)), pow2_8(rest));
  y = _mm256_blendv_ps(y, _mm256_setzero_ps(),
                       _mm256_cmp_ps(x, _mm256_set1_ps(-104.0f), _CMP_LT_OQ));
  return _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));
}

// Lanes [0, n) of a group of eight, for loading and storing a row's tail.
__attribute__((target("avx2"))) inline __m256i tail_mask8(int64_t n) {
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), lane);
}

}  // namespace mova::cpu

#endif
