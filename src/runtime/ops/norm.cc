#include "runtime/ops/norm.h"

#include "runtime/cpu/kernels.h"
#include "runtime/error.h"

namespace mova {
namespace {

std::vector<float> param(const Tensor* t, int64_t dim, const Tensor& x, const char* what) {
  if (!t) return {};
  MOVA_CHECK(t->numel() == dim && dtype_is_float(t->dtype()), ErrorKind::kShape, what, " ",
             t->describe(), " does not match the last dim of ", x.describe());
  return t->to_vector();
}

void check_input(const Tensor& x, const char* op) {
  MOVA_CHECK(x.dtype() == DType::kF32 && x.dim() >= 1, ErrorKind::kShape, op, ": ", x.describe(),
             " must be F32 with at least one dim");
}

}  // namespace

Tensor layer_norm(Exec& ex, const Tensor& x, const Tensor* weight, const Tensor* bias, float eps) {
  check_input(x, "layer_norm");
  const int64_t dim = x.size(-1);
  const auto w = param(weight, dim, x, "layer_norm weight");
  const auto b = param(bias, dim, x, "layer_norm bias");
  const Tensor xc = x.contiguous(&ex.buffers());
  Tensor y = Tensor::empty(x.shape(), DType::kF32, &ex.buffers());
  cpu::layer_norm_rows(xc.data<float>(), y.data<float>(), dim ? x.numel() / dim : 0, dim,
                       w.empty() ? nullptr : w.data(), b.empty() ? nullptr : b.data(), eps,
                       &ex.pool());
  return y;
}

Tensor rms_norm(Exec& ex, const Tensor& x, const Tensor* weight, float eps) {
  check_input(x, "rms_norm");
  const int64_t dim = x.size(-1);
  const auto w = param(weight, dim, x, "rms_norm weight");
  const Tensor xc = x.contiguous(&ex.buffers());
  Tensor y = Tensor::empty(x.shape(), DType::kF32, &ex.buffers());
  cpu::rms_norm_rows(xc.data<float>(), y.data<float>(), dim ? x.numel() / dim : 0, dim,
                     w.empty() ? nullptr : w.data(), eps, &ex.pool());
  return y;
}

}  // namespace mova
