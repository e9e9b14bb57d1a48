#include "runtime/ops/reduce.h"

#include <algorithm>
#include <cmath>

#include "runtime/backend.h"
#include "runtime/cpu/kernels.h"
#include "runtime/error.h"

namespace mova {

Tensor reduce(Exec& ex, ReduceOp op, const Tensor& x, int dim, bool keepdim) {
  if (const Device d = common_device("reduce", {&x}); !d.is_cpu())
    return backend_for(d, "reduce").reduce(op, x, dim, keepdim);
  MOVA_CHECK(x.dtype() == DType::kF32, ErrorKind::kShape, "reduce: ", x.describe(), " must be F32");
  const int rank = x.dim();
  const int d = dim < 0 ? dim + rank : dim;
  MOVA_CHECK(d >= 0 && d < rank, ErrorKind::kShape, "reduce: dim ", dim, " out of range for ",
             x.describe());
  MOVA_CHECK(op != ReduceOp::kMax || x.size(d) > 0, ErrorKind::kShape, "max over empty dim of ",
             x.describe());
  // View as [outer, n, inner] after making x contiguous.
  const Tensor xc = x.contiguous(&ex.buffers());
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < d; ++i) outer *= x.size(i);
  for (int i = d + 1; i < rank; ++i) inner *= x.size(i);
  const int64_t n = x.size(d);
  Shape out_shape = x.shape();
  if (keepdim) {
    out_shape[d] = 1;
  } else {
    out_shape.erase(out_shape.begin() + d);
  }
  Tensor y = Tensor::empty(out_shape, DType::kF32, &ex.buffers());
  const float* px = xc.data<float>();
  float* py = y.data<float>();
  ex.pool().parallel_for(outer * inner, 1024, [&](int64_t b, int64_t e) {
    for (int64_t idx = b; idx < e; ++idx) {
      const int64_t o = idx / inner, i = idx % inner;
      const float* base = px + o * n * inner + i;
      if (op == ReduceOp::kMax) {
        float m = -INFINITY;
        for (int64_t j = 0; j < n; ++j) m = std::max(m, base[j * inner]);
        py[idx] = m;
      } else {
        double s = 0.0;
        for (int64_t j = 0; j < n; ++j) s += base[j * inner];
        if (op == ReduceOp::kMean) s /= static_cast<double>(n);
        py[idx] = static_cast<float>(s);
      }
    }
  });
  return y;
}

Tensor softmax(Exec& ex, const Tensor& x) {
  if (const Device d = common_device("softmax", {&x}); !d.is_cpu())
    return backend_for(d, "softmax").softmax(x);
  MOVA_CHECK(x.dtype() == DType::kF32 && x.dim() >= 1, ErrorKind::kShape, "softmax: ", x.describe(),
             " must be F32 with at least one dim");
  const Tensor xc = x.contiguous(&ex.buffers());
  Tensor y = Tensor::empty(x.shape(), DType::kF32, &ex.buffers());
  const int64_t dim = x.size(-1);
  cpu::softmax_rows(xc.data<float>(), y.data<float>(), dim ? x.numel() / dim : 0, dim, &ex.pool());
  return y;
}

}  // namespace mova
