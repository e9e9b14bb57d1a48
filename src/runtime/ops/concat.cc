#include "runtime/ops/concat.h"

#include <cstring>

#include "runtime/backend.h"
#include "runtime/error.h"

namespace mova {

Tensor concat(const std::vector<Tensor>& parts, int dim) {
  MOVA_CHECK(!parts.empty(), ErrorKind::kShape, "concat of no tensors");
  for (const Tensor& t : parts) common_device("concat", {&parts[0], &t});
  const Tensor& first = parts[0];
  MOVA_CHECK(dim >= 0 && dim < first.dim(), ErrorKind::kShape, "concat dim ", dim,
             " out of range for ", first.describe());
  Shape shape = first.shape();
  shape[dim] = 0;
  for (const Tensor& t : parts) {
    bool fits = t.dim() == first.dim();
    for (int d = 0; fits && d < t.dim(); ++d) fits = d == dim || t.size(d) == first.size(d);
    MOVA_CHECK(fits, ErrorKind::kShape, "cannot concatenate ", first.describe(), " and ",
               t.describe(), " along dim ", dim);
    shape[dim] += t.size(dim);
  }
  if (!first.device().is_cpu()) {
    // Each part copied into its slice by the device's strided copy: no kernel of its own.
    Tensor out = Tensor::empty(shape, DType::kF32, first.device());
    int64_t at = 0;
    for (const Tensor& t : parts) {
      if (t.size(dim) > 0) out.narrow(dim, at, t.size(dim)).copy_from(t);
      at += t.size(dim);
    }
    return out;
  }
  Tensor out = Tensor::empty(shape, DType::kF32);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < dim; ++d) outer *= shape[d];
  for (int d = dim + 1; d < first.dim(); ++d) inner *= shape[d];
  const int64_t out_row = shape[dim] * inner;
  int64_t at = 0;
  for (const Tensor& t : parts) {
    const int64_t n = t.size(dim) * inner;
    if (n == 0) continue;
    const Tensor src = t.to(DType::kF32).contiguous();
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(out.data<float>() + o * out_row + at, src.data<float>() + o * n,
                  static_cast<size_t>(n) * sizeof(float));
    at += n;
  }
  return out;
}

}  // namespace mova
