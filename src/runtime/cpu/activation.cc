#include <algorithm>
#include <cmath>

#include "runtime/cpu/cpu_features.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/simd_math.h"
#include "runtime/thread_pool.h"

namespace mova::cpu {
namespace {

constexpr float kSqrt2OverPi = 0.7978845608028654f;

// 0.5·x·(1 + tanh(u)) written as x / (1 + e^(−2u)): the same function (torch's
// approximate="tanh"), without the cancellation of 1 + tanh(u) for negative x.
// The scalar and AVX2 paths share the expression for u but not the exp (std::exp against
// exp8): they agree to an ulp or two, not bit for bit. The same holds between the AVX2 SiLU
// and the scalar one fused into the video VAE's norm (kernels.h's cpu::silu).
inline float gelu_tanh(float x) {
  const float u = kSqrt2OverPi * std::fma(0.044715f, x * x * x, x);
  return x / (1.0f + std::exp(-2.0f * u));
}
inline float gelu_erf(float x) {
  return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f));
}
template <float (*F)(float)>
void apply(const float* x, float* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) y[i] = F(x[i]);
}

#if defined(__x86_64__)
// x / (1 + e^(−a)) with a = x (SiLU) or a = 2·√(2/π)·(x + 0.044715x³) (GELU tanh).
template <bool kGelu>
__attribute__((target("avx2,fma"))) __m256 sigmoid_gate8(__m256 x) {
  __m256 arg = x;
  if constexpr (kGelu) {
    const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(x, x), x);  // (x·x)·x, as the scalar x * x * x
    const __m256 u = _mm256_mul_ps(_mm256_set1_ps(kSqrt2OverPi),
                                   _mm256_fmadd_ps(_mm256_set1_ps(0.044715f), x3, x));
    arg = _mm256_mul_ps(_mm256_set1_ps(2.0f), u);
  }
  const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), arg));
  return _mm256_div_ps(x, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

template <bool kGelu>
__attribute__((target("avx2,fma"))) void apply_avx2(const float* x, float* y, int64_t begin,
                                                    int64_t end) {
  int64_t i = begin;
  for (; i + 8 <= end; i += 8)
    _mm256_storeu_ps(y + i, sigmoid_gate8<kGelu>(_mm256_loadu_ps(x + i)));
  if (i < end) {
    const __m256i mask = tail_mask8(end - i);
    _mm256_maskstore_ps(y + i, mask, sigmoid_gate8<kGelu>(_mm256_maskload_ps(x + i, mask)));
  }
}
#else
template <bool kGelu>
void apply_avx2(const float* x, float* y, int64_t begin, int64_t end) {  // never chosen here
  apply<kGelu ? gelu_tanh : silu>(x, y, begin, end);
}
#endif

}  // namespace

void unary(Unary op, const float* x, float* y, int64_t n, ThreadPool* pool) {
#if defined(__x86_64__)
  const bool avx2 = active_isa() >= Isa::kAvx2;
#else
  const bool avx2 = false;
#endif
  auto body = [&](int64_t begin, int64_t end) {
    switch (op) {
      case Unary::kGeluTanh:
        if (avx2)
          apply_avx2<true>(x, y, begin, end);
        else
          apply<gelu_tanh>(x, y, begin, end);
        break;
      case Unary::kGeluErf:
        apply<gelu_erf>(x, y, begin, end);
        break;
      case Unary::kSilu:
        if (avx2)
          apply_avx2<false>(x, y, begin, end);
        else
          apply<silu>(x, y, begin, end);
        break;
    }
  };
  if (pool) {
    pool->parallel_for(n, 32768, body);
  } else {
    body(0, n);
  }
}

}  // namespace mova::cpu
