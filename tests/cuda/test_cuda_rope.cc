// RoPE kernels against the CPU ops (runtime/ops/rope.h). Interleaved: both sides rotate in
// float64 from the same angles, max-rel 1e-6; rotate-half: F32 on both, max-rel 1e-6. BF16
// storage: one BF16 rounding of the output, max-rel 1e-2.
#include <cmath>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "runtime/cuda/kernels/rope.h"
#include "runtime/exec.h"
#include "runtime/ops/rope.h"
#include "test_util.h"

namespace mova {
namespace {

const cuda::RopeShape kShape{2, 19, 3, 128};

RopeAngles random_angles(int64_t positions, int64_t pairs, uint32_t seed) {
  // Up to ±400 rad: the largest Wan angles (position × frequency) are of that order.
  const auto a = test::random_vector(positions * pairs, seed, -400.0f, 400.0f);
  return RopeAngles{positions, pairs, Tensor::from_vector({positions, pairs}, a).to(DType::kF64)};
}

std::vector<double> table(const RopeAngles& angles) {
  const double* p = angles.angle.data<double>();
  return std::vector<double>(p, p + angles.angle.numel());
}

Tensor as_tensor(const std::vector<float>& v, const cuda::RopeShape& s) {
  return Tensor::from_vector({s.batch, s.length, s.heads, s.head_dim}, v);
}

TEST(CudaRope, InterleavedMatchesCpu) {
  MOVA_REQUIRE_GPU();
  Exec ex(1);
  const auto angles = random_angles(kShape.length, kShape.head_dim / 2, 1);
  const auto x =
      test::random_vector(kShape.batch * kShape.length * kShape.heads * kShape.head_dim, 2);
  test::DeviceScratch d;
  void* dx = d.upload(x);
  void* dy = d.zeros(x.size() * sizeof(float));
  cuda::rope_interleaved(dx, dy, DType::kF32, kShape,
                         static_cast<const double*>(d.upload(table(angles))));
  const auto ref = rope_interleaved(ex, as_tensor(x, kShape), angles).to_vector();
  EXPECT_LE(test::max_rel_error(d.download<float>(dy, x.size()), ref), 1e-6);
}

TEST(CudaRope, RotateHalfMatchesCpuInPlace) {
  MOVA_REQUIRE_GPU();
  Exec ex(1);
  const int64_t L = kShape.length, D = kShape.head_dim;
  const auto angles = random_angles(L, D / 2, 3);
  std::vector<float> cos(L * D), sin(L * D);
  for (int64_t l = 0; l < L; ++l)
    for (int64_t j = 0; j < D; ++j) {  // the frequency vector repeated over both halves
      const double a = angles.angle.data<double>()[l * (D / 2) + j % (D / 2)];
      cos[l * D + j] = static_cast<float>(std::cos(a));
      sin[l * D + j] = static_cast<float>(std::sin(a));
    }
  const auto x = test::random_vector(kShape.batch * L * kShape.heads * D, 4);
  test::DeviceScratch d;
  void* dx = d.upload(x);
  cuda::rope_rotate_half(dx, dx, DType::kF32, kShape, static_cast<const float*>(d.upload(cos)),
                         static_cast<const float*>(d.upload(sin)));
  const auto ref = rope_rotate_half(ex, as_tensor(x, kShape), Tensor::from_vector({L, D}, cos),
                                    Tensor::from_vector({L, D}, sin))
                       .to_vector();
  EXPECT_LE(test::max_rel_error(d.download<float>(dx, x.size()), ref), 1e-6);
}

TEST(CudaRope, InterleavedBf16) {
  MOVA_REQUIRE_GPU();
  Exec ex(1);
  const auto angles = random_angles(kShape.length, kShape.head_dim / 2, 5);
  auto x = test::random_vector(kShape.batch * kShape.length * kShape.heads * kShape.head_dim, 6);
  const auto bits = test::round_to_bf16(x);
  test::DeviceScratch d;
  void* dx = d.upload(bits);
  cuda::rope_interleaved(dx, dx, DType::kBF16, kShape,
                         static_cast<const double*>(d.upload(table(angles))));
  const auto got = test::from_bf16(d.download<uint16_t>(dx, x.size()));
  const auto ref = rope_interleaved(ex, as_tensor(x, kShape), angles).to_vector();
  EXPECT_LE(test::max_rel_error(got, ref), 1e-2);
}

}  // namespace
}  // namespace mova
