#include "runtime/ops/norm.h"

#include <algorithm>
#include <cmath>

#include "runtime/backend.h"
#include "runtime/cpu/kernels.h"
#include "runtime/error.h"
#include "runtime/ops/handoff.h"

namespace mova {
namespace {

void check_param(const Tensor* t, const Tensor& x, const char* what) {
  MOVA_CHECK(!t || (t->numel() == x.size(-1) && dtype_is_float(t->dtype())), ErrorKind::kShape,
             what, " ", t ? t->describe() : "", " does not match the last dim of ", x.describe());
}

std::vector<float> param(const Tensor* t) {
  return t ? t->to_vector() : std::vector<float>();
}

void check_input(const Tensor& x, const char* op) {
  MOVA_CHECK(x.dtype() == DType::kF32 && x.dim() >= 1, ErrorKind::kShape, op, ": ", x.describe(),
             " must be F32 with at least one dim");
}

}  // namespace

Tensor layer_norm(Exec& ex, const Tensor& x, const Tensor* weight, const Tensor* bias, float eps) {
  check_input(x, "layer_norm");
  check_param(weight, x, "layer_norm weight");
  check_param(bias, x, "layer_norm bias");
  if (const Device d = common_device("layer_norm", {&x, weight, bias}); !d.is_cpu())
    return backend_for(d, "layer_norm").layer_norm(x, weight, bias, eps);
  const int64_t dim = x.size(-1);
  const auto w = param(weight);
  const auto b = param(bias);
  const Tensor xc = x.contiguous(&ex.buffers());
  Tensor y = Tensor::empty(x.shape(), DType::kF32, &ex.buffers());
  cpu::layer_norm_rows(xc.data<float>(), y.data<float>(), dim ? x.numel() / dim : 0, dim,
                       w.empty() ? nullptr : w.data(), b.empty() ? nullptr : b.data(), eps,
                       &ex.pool());
  return y;
}

Tensor layer_norm_modulate(Exec& ex, const Tensor& x, const Tensor& shift, const Tensor& scale,
                           float eps) {
  check_input(x, "layer_norm_modulate");
  check_param(&shift, x, "layer_norm_modulate shift");
  check_param(&scale, x, "layer_norm_modulate scale");
  if (const Device d = common_device("layer_norm_modulate", {&x, &shift, &scale}); !d.is_cpu())
    return backend_for(d, "layer_norm_modulate").layer_norm_modulate(x, shift, scale, eps);
  const int64_t dim = x.size(-1), rows = dim ? x.numel() / dim : 0;
  const std::vector<float> sh = shift.to_vector();
  std::vector<float> sc = scale.to_vector();
  for (float& v : sc) v = v * 1.0f + 1.0f;  // as affine(scale, 1, 1) computes it
  const Tensor xc = x.contiguous(&ex.buffers());
  Tensor y = Tensor::empty(x.shape(), DType::kF32, &ex.buffers());
  const float* px = xc.data<float>();
  float* py = y.data<float>();
  // Row blocks: each row is normalised and modulated while it is in cache.
  ex.pool().parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    cpu::layer_norm_rows(px + r0 * dim, py + r0 * dim, r1 - r0, dim, nullptr, nullptr, eps,
                         nullptr);
    for (int64_t r = r0; r < r1; ++r) {
      float* row = py + r * dim;
      for (int64_t c = 0; c < dim; ++c) row[c] = row[c] * sc[c] + sh[c];
    }
  });
  return y;
}

Tensor rms_norm(Exec& ex, const Tensor& x, const Tensor* weight, float eps) {
  check_handoff_dtype(x, "rms_norm");
  MOVA_CHECK(x.dim() >= 1, ErrorKind::kShape, "rms_norm: ", x.describe(), " has no dims");
  check_param(weight, x, "rms_norm weight");
  if (const Device d = common_device("rms_norm", {&x, weight}); !d.is_cpu())
    return backend_for(d, "rms_norm").rms_norm(x, weight, eps);
  const int64_t dim = x.size(-1);
  const auto w = param(weight);
  const Tensor xc = x.contiguous(&ex.buffers());
  Tensor y = Tensor::empty(x.shape(), DType::kF32, &ex.buffers());
  cpu::rms_norm_rows(xc.data<float>(), y.data<float>(), dim ? x.numel() / dim : 0, dim,
                     w.empty() ? nullptr : w.data(), eps, &ex.pool());
  return y;
}

Tensor channel_rms_norm(Exec& ex, const Tensor& x, const Tensor& gamma, bool then_silu) {
  MOVA_CHECK(x.dtype() == DType::kF32 && x.dim() >= 1, ErrorKind::kShape,
             "channel_rms_norm: ", x.describe(), " must be F32 [C, ...]");
  const int64_t C = x.size(0);
  MOVA_CHECK(gamma.numel() == C && dtype_is_float(gamma.dtype()), ErrorKind::kShape,
             "channel_rms_norm: gamma ", gamma.describe(), " does not have the ", C,
             " channels of ", x.describe());
  if (const Device d = common_device("channel_rms_norm", {&x, &gamma}); !d.is_cpu())
    return backend_for(d, "channel_rms_norm").channel_rms_norm(x, gamma, then_silu);
  const std::vector<float> g = gamma.to_vector();
  const Tensor xc = x.contiguous(&ex.buffers());
  Tensor y = Tensor::empty(x.shape(), DType::kF32, &ex.buffers());
  const int64_t P = C ? x.numel() / C : 0;
  const float* px = xc.data<float>();
  float* py = y.data<float>();
  const double root_c = std::sqrt(static_cast<double>(C));
  ex.pool().parallel_for(P, 1024, [&](int64_t a, int64_t e) {
    for (int64_t i = a; i < e; ++i) {
      double ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += static_cast<double>(px[c * P + i]) * px[c * P + i];
      const double scale = root_c / std::max(std::sqrt(ss), 1e-12);
      for (int64_t c = 0; c < C; ++c) {
        const float v = static_cast<float>(px[c * P + i] * scale * g[c]);
        py[c * P + i] = then_silu ? cpu::silu(v) : v;
      }
    }
  });
  return y;
}

}  // namespace mova
