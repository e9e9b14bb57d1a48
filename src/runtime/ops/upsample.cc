#include "runtime/ops/upsample.h"

#include "runtime/error.h"

namespace mova {

Tensor upsample_nearest2x(Exec& ex, const Tensor& x) {
  MOVA_CHECK(x.dtype() == DType::kF32 && x.dim() >= 2, ErrorKind::kShape,
             "upsample_nearest2x: ", x.describe(), " must be F32 [..., H, W]");
  const int64_t H = x.size(-2), W = x.size(-1), planes = H * W > 0 ? x.numel() / (H * W) : 0;
  Shape row_view = x.shape(), up = x.shape();
  row_view.insert(row_view.end() - 1, 1);  // [..., H, 1, W, 1]
  row_view.push_back(1);
  up[up.size() - 2] = 2 * H;
  up[up.size() - 1] = 2 * W;
  if (!x.device().is_cpu()) {
    // On a device: a stride-0 view made contiguous by the device's strided copy.
    Shape expanded = row_view;
    expanded[expanded.size() - 3] = 2;
    expanded[expanded.size() - 1] = 2;
    return x.contiguous(&ex.buffers()).reshape(row_view).expand(expanded).contiguous().reshape(up);
  }
  // On the host the generic strided copy would move 2-element rows; one pass per plane instead.
  const Tensor xc = x.contiguous(&ex.buffers());
  Tensor y = Tensor::empty(up, DType::kF32, &ex.buffers());
  const float* ps = xc.data<float>();
  float* pu = y.data<float>();
  ex.pool().parallel_for(planes, 1, [&](int64_t a, int64_t e) {
    for (int64_t p = a; p < e; ++p)
      for (int64_t i = 0; i < 2 * H; ++i)
        for (int64_t j = 0; j < 2 * W; ++j)
          pu[(p * 2 * H + i) * 2 * W + j] = ps[(p * H + i / 2) * W + j / 2];
  });
  return y;
}

}  // namespace mova
