#include <algorithm>
#include <cmath>

#include "runtime/cpu/kernels.h"
#include "runtime/thread_pool.h"

namespace mova::cpu {
namespace {

inline float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.7978845608028654f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * (x + 0.044715f * x * x * x)));
}
inline float gelu_erf(float x) {
  return 0.5f * x * (1.0f + std::erf(x * 0.7071067811865476f));
}
template <float (*F)(float)>
void apply(const float* x, float* y, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) y[i] = F(x[i]);
}

}  // namespace

void unary(Unary op, const float* x, float* y, int64_t n, ThreadPool* pool) {
  auto body = [&](int64_t begin, int64_t end) {
    switch (op) {
      case Unary::kGeluTanh:
        apply<gelu_tanh>(x, y, begin, end);
        break;
      case Unary::kGeluErf:
        apply<gelu_erf>(x, y, begin, end);
        break;
      case Unary::kSilu:
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
