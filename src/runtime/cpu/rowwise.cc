#include <algorithm>
#include <cmath>

#include "runtime/cpu/cpu_features.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cpu/simd_math.h"
#include "runtime/thread_pool.h"

namespace mova::cpu {
namespace {

template <typename Fn>
void for_rows(int64_t rows, int64_t dim, ThreadPool* pool, Fn&& fn) {
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(dim, 1));
  auto body = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) fn(r);
  };
  if (pool) {
    pool->parallel_for(rows, grain, body);
  } else {
    body(0, rows);
  }
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) float exp_shifted_sum_avx2(float* x, int64_t n, float shift) {
  const __m256 s = _mm256_set1_ps(shift);
  __m256 sum = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
    _mm256_storeu_ps(x + i, e);
    sum = _mm256_add_ps(sum, e);
  }
  if (i < n) {
    const __m256i mask = tail_mask8(n - i);
    const __m256 e = exp8(_mm256_sub_ps(_mm256_maskload_ps(x + i, mask), s));
    _mm256_maskstore_ps(x + i, mask, e);
    sum = _mm256_add_ps(sum, _mm256_and_ps(e, _mm256_castsi256_ps(mask)));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, sum);
  float total = 0.0f;
  for (const float v : lanes) total += v;
  return total;
}
#endif

}  // namespace

float exp_shifted_sum(float* x, int64_t n, float shift) {
#if defined(__x86_64__)
  if (active_isa() >= Isa::kAvx2) return exp_shifted_sum_avx2(x, n, shift);
#endif
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t dim, ThreadPool* pool) {
  for_rows(rows, dim, pool, [&](int64_t r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    float mx = -INFINITY;
    for (int64_t i = 0; i < dim; ++i) mx = std::max(mx, xr[i]);
    if (mx == -INFINITY) mx = 0.0f;  // an all -inf row gives NaN in torch too; keep it finite
    double sum = 0.0;
    for (int64_t i = 0; i < dim; ++i) {
      yr[i] = std::exp(xr[i] - mx);
      sum += yr[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < dim; ++i) yr[i] *= inv;
  });
}

void layer_norm_rows(const float* x, float* y, int64_t rows, int64_t dim, const float* w,
                     const float* b, float eps, ThreadPool* pool) {
  for_rows(rows, dim, pool, [&](int64_t r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    double mean = 0.0;
    for (int64_t i = 0; i < dim; ++i) mean += xr[i];
    mean /= static_cast<double>(dim);
    double var = 0.0;
    for (int64_t i = 0; i < dim; ++i) {
      const double d = xr[i] - mean;
      var += d * d;
    }
    var /= static_cast<double>(dim);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float m = static_cast<float>(mean);
    for (int64_t i = 0; i < dim; ++i) {
      float v = (xr[i] - m) * inv;
      if (w) v *= w[i];
      if (b) v += b[i];
      yr[i] = v;
    }
  });
}

void rms_norm_rows(const float* x, float* y, int64_t rows, int64_t dim, const float* w, float eps,
                   ThreadPool* pool) {
  for_rows(rows, dim, pool, [&](int64_t r) {
    const float* xr = x + r * dim;
    float* yr = y + r * dim;
    double ss = 0.0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(xr[i]) * xr[i];
    const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(dim) + eps));
    for (int64_t i = 0; i < dim; ++i) yr[i] = w ? xr[i] * inv * w[i] : xr[i] * inv;
  });
}

}  // namespace mova::cpu
