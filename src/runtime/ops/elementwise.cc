#include "runtime/ops/elementwise.h"

#include <algorithm>
#include <cmath>

#include "runtime/backend.h"
#include "runtime/cpu/kernels.h"
#include "runtime/error.h"
#include "runtime/ops/handoff.h"

namespace mova {
namespace {

void check_f32(const Tensor& t, const char* op) {
  MOVA_CHECK(t.dtype() == DType::kF32, ErrorKind::kShape, op, ": ", t.describe(), " must be F32");
}

// Strides of `t` viewed with `out` shape: 0 on broadcast dims.
Shape broadcast_strides(const Tensor& t, const Shape& out) {
  Shape s(out.size(), 0);
  const size_t off = out.size() - t.shape().size();
  for (size_t i = 0; i < t.shape().size(); ++i) s[off + i] = t.shape()[i] == 1 ? 0 : t.strides()[i];
  return s;
}

template <typename F>
void binary_loop(const float* a, const float* b, float* y, const Shape& shape, const Shape& sa,
                 const Shape& sb, ThreadPool& pool, F f) {
  const int rank = static_cast<int>(shape.size());
  if (rank == 0) {
    y[0] = f(a[0], b[0]);
    return;
  }
  const int64_t inner = shape[rank - 1];
  const int64_t ia = sa[rank - 1], ib = sb[rank - 1];
  int64_t rows = 1;
  for (int i = 0; i < rank - 1; ++i) rows *= shape[i];
  pool.parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)),
                    [&](int64_t r0, int64_t r1) {
                      for (int64_t r = r0; r < r1; ++r) {
                        int64_t oa = 0, ob = 0, rem = r;
                        for (int i = rank - 2; i >= 0; --i) {
                          const int64_t idx = rem % shape[i];
                          rem /= shape[i];
                          oa += idx * sa[i];
                          ob += idx * sb[i];
                        }
                        float* yr = y + r * inner;
                        const float* ar = a + oa;
                        const float* br = b + ob;
                        if (ia == 1 && ib == 1) {
                          for (int64_t j = 0; j < inner; ++j) yr[j] = f(ar[j], br[j]);
                        } else if (ia == 1 && ib == 0) {
                          const float bv = br[0];
                          for (int64_t j = 0; j < inner; ++j) yr[j] = f(ar[j], bv);
                        } else {
                          for (int64_t j = 0; j < inner; ++j) yr[j] = f(ar[j * ia], br[j * ib]);
                        }
                      }
                    });
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    MOVA_CHECK(da == db || da == 1 || db == 1, ErrorKind::kShape, "shapes ", shape_str(a), " and ",
               shape_str(b), " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Tensor binary(Exec& ex, BinaryOp op, const Tensor& a, const Tensor& b) {
  check_f32(a, "binary op");
  check_f32(b, "binary op");
  if (const Device d = common_device("binary", {&a, &b}); !d.is_cpu())
    return backend_for(d, "binary").binary(op, a, b);
  const Shape shape = broadcast_shapes(a.shape(), b.shape());
  Tensor y = Tensor::empty(shape, DType::kF32, &ex.buffers());
  if (y.numel() == 0) return y;
  const Shape sa = broadcast_strides(a, shape), sb = broadcast_strides(b, shape);
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* py = y.data<float>();
  switch (op) {
    case BinaryOp::kAdd:
      binary_loop(pa, pb, py, shape, sa, sb, ex.pool(), [](float u, float v) { return u + v; });
      break;
    case BinaryOp::kSub:
      binary_loop(pa, pb, py, shape, sa, sb, ex.pool(), [](float u, float v) { return u - v; });
      break;
    case BinaryOp::kMul:
      binary_loop(pa, pb, py, shape, sa, sb, ex.pool(), [](float u, float v) { return u * v; });
      break;
    case BinaryOp::kDiv:
      binary_loop(pa, pb, py, shape, sa, sb, ex.pool(), [](float u, float v) { return u / v; });
      break;
  }
  return y;
}

Tensor gated_residual(Exec& ex, const Tensor& x, const Tensor& gate, const Tensor& y) {
  check_f32(x, "gated_residual");
  check_f32(y, "gated_residual");
  MOVA_CHECK(x.shape() == y.shape() && x.dim() >= 1 && gate.numel() == x.size(-1) &&
                 dtype_is_float(gate.dtype()),
             ErrorKind::kShape, "gated_residual: x ", x.describe(), ", gate ", gate.describe(),
             " and y ", y.describe(), " must be [..., D], [D] and [..., D]");
  if (const Device d = common_device("gated_residual", {&x, &gate, &y}); !d.is_cpu())
    return backend_for(d, "gated_residual").gated_residual(x, gate, y);
  const int64_t dim = x.size(-1), rows = dim ? x.numel() / dim : 0;
  const std::vector<float> g = gate.to_vector();
  const Tensor xc = x.contiguous(&ex.buffers()), yc = y.contiguous(&ex.buffers());
  Tensor out = Tensor::empty(x.shape(), DType::kF32, &ex.buffers());
  const float* px = xc.data<float>();
  const float* py = yc.data<float>();
  float* po = out.data<float>();
  ex.pool().parallel_for(rows, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r)
      for (int64_t c = 0; c < dim; ++c) {
        const float gy = g[c] * py[r * dim + c];
        po[r * dim + c] = px[r * dim + c] + gy;
      }
  });
  return out;
}

Tensor affine(Exec& ex, const Tensor& x, float scale, float shift) {
  check_f32(x, "affine");
  if (const Device d = common_device("affine", {&x}); !d.is_cpu())
    return backend_for(d, "affine").affine(x, scale, shift);
  const Tensor xc = x.contiguous(&ex.buffers());
  Tensor y = Tensor::empty(x.shape(), DType::kF32, &ex.buffers());
  const float* px = xc.data<float>();
  float* py = y.data<float>();
  ex.pool().parallel_for(x.numel(), 32768, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) py[i] = px[i] * scale + shift;
  });
  return y;
}

namespace {
Tensor unary_op(Exec& ex, const Tensor& x, cpu::Unary op, const char* name) {
  check_f32(x, name);
  const Tensor xc = x.contiguous(&ex.buffers());
  Tensor y = Tensor::empty(x.shape(), DType::kF32, &ex.buffers());
  cpu::unary(op, xc.data<float>(), y.data<float>(), x.numel(), &ex.pool());
  return y;
}
}  // namespace

Tensor gelu(Exec& ex, const Tensor& x, bool tanh_approximation) {
  check_handoff_dtype(x, "gelu");
  if (const Device d = common_device("gelu", {&x}); !d.is_cpu())
    return backend_for(d, "gelu").gelu(x, tanh_approximation);
  return unary_op(ex, x, tanh_approximation ? cpu::Unary::kGeluTanh : cpu::Unary::kGeluErf, "gelu");
}

Tensor silu(Exec& ex, const Tensor& x) {
  check_handoff_dtype(x, "silu");
  if (const Device d = common_device("silu", {&x}); !d.is_cpu())
    return backend_for(d, "silu").silu(x);
  return unary_op(ex, x, cpu::Unary::kSilu, "silu");
}

Tensor snake(Exec& ex, const Tensor& x, const Tensor& alpha) {
  MOVA_CHECK(x.dtype() == DType::kF32 && x.dim() == 2, ErrorKind::kShape, "snake: ", x.describe(),
             " must be F32 [C, L]");
  const int64_t C = x.size(0), L = x.size(1);
  MOVA_CHECK(alpha.dtype() == DType::kF32 && alpha.numel() == C, ErrorKind::kShape, "snake: alpha ",
             alpha.describe(), " does not have the ", C, " channels of ", x.describe());
  if (const Device d = common_device("snake", {&x, &alpha}); !d.is_cpu())
    return backend_for(d, "snake").snake(x, alpha);
  const Tensor xc = x.contiguous(&ex.buffers());
  const std::vector<float> a = alpha.to_vector();
  Tensor y = Tensor::empty({C, L}, DType::kF32, &ex.buffers());
  const float* px = xc.data<float>();
  float* py = y.data<float>();
  ex.pool().parallel_for(C, 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      const float al = a[c], inv = 1.0f / (al + 1e-9f);
      for (int64_t i = 0; i < L; ++i) {
        const float v = px[c * L + i];
        const float s = std::sin(al * v);
        py[c * L + i] = v + inv * s * s;
      }
    }
  });
  return y;
}

}  // namespace mova
