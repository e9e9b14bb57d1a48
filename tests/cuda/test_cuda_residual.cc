// The gated residual kernel against the CPU ops it replaces (add(x, mul(gate, y))). F32: the
// GPU may fuse the multiply-add (one rounding instead of two), max-rel 1e-6; BF16 y: the CPU
// sees the same rounded y, so the bound is the same.
#include <vector>

#include "cuda/cuda_test_util.h"
#include "runtime/cuda/kernels/residual.h"
#include "runtime/exec.h"
#include "runtime/ops/elementwise.h"
#include "test_util.h"

namespace mova {
namespace {

// In place (out = x, as the benchmark's BF16 block runs it) or into another buffer (as the
// backend's op does, leaving x as it was).
void check(DType y_dtype, bool gated, bool in_place) {
  Exec ex(1);
  const int64_t rows = 33, dim = 1536;
  const auto x = test::random_vector(rows * dim, 1, -4.0f, 4.0f);
  auto y = test::random_vector(rows * dim, 2);
  const auto gate = test::random_vector(dim, 3);
  const auto y_bits = test::round_to_bf16(y);  // y as the BF16 case sees it, for both dtypes
  test::DeviceScratch d;
  auto* dx = static_cast<float*>(d.upload(x));
  const void* dy = y_dtype == DType::kBF16 ? d.upload(y_bits) : d.upload(y);
  auto* out = in_place ? dx : static_cast<float*>(d.upload(std::vector<float>(x.size(), 0.0f)));
  cuda::residual_gate(dx, dy, y_dtype, rows, dim,
                      gated ? static_cast<const float*>(d.upload(gate)) : nullptr, out);
  const Tensor yt = Tensor::from_vector({rows, dim}, y);
  const Tensor g = gated ? mul(ex, Tensor::from_vector({dim}, gate), yt) : yt;
  const auto ref = add(ex, Tensor::from_vector({rows, dim}, x), g).to_vector();
  EXPECT_LE(test::max_rel_error(d.download<float>(out, x.size()), ref), 1e-6)
      << dtype_name(y_dtype) << (gated ? " gated" : " plain") << (in_place ? " in place" : "");
  if (!in_place) {
    EXPECT_EQ(d.download<float>(dx, x.size()), x);
  }
}

TEST(CudaResidual, GatedAndPlainMatchCpu) {
  MOVA_REQUIRE_GPU();
  for (DType t : {DType::kF32, DType::kBF16})
    for (bool gated : {true, false})
      for (bool in_place : {true, false}) check(t, gated, in_place);
}

}  // namespace
}  // namespace mova
