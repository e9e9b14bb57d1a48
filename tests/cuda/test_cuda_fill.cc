// fill_uniform (the benchmarks' random weights): values in [lo, hi), the same for the same seed
// whatever the grid, different for another seed, and about uniform (mean and variance of
// 1M draws within 1% of the uniform's).
#include <cmath>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "runtime/cuda/kernels/fill.h"

namespace mova {
namespace {

TEST(CudaFill, UniformIsBoundedSeededAndUniform) {
  MOVA_REQUIRE_GPU();
  const int64_t n = 1 << 20;
  test::DeviceScratch d;
  void* a = d.zeros(n * 4);
  void* b = d.zeros(n * 4);
  void* c = d.zeros(n * 4);
  cuda::fill_uniform(a, DType::kF32, n, 7, -2.0f, 3.0f);
  cuda::fill_uniform(b, DType::kF32, n, 7, -2.0f, 3.0f);
  cuda::fill_uniform(c, DType::kF32, n, 8, -2.0f, 3.0f);
  const auto x = d.download<float>(a, n), y = d.download<float>(b, n), z = d.download<float>(c, n);
  EXPECT_EQ(x, y);
  EXPECT_NE(x, z);
  double sum = 0, sq = 0;
  for (float v : x) {
    ASSERT_GE(v, -2.0f);
    ASSERT_LT(v, 3.0f);
    sum += v, sq += double(v) * v;
  }
  const double mean = sum / n, var = sq / n - mean * mean;
  EXPECT_NEAR(mean, 0.5, 0.05);          // 1% of the range
  EXPECT_NEAR(var, 25.0 / 12.0, 0.021);  // 1% of (hi − lo)²/12
}

TEST(CudaFill, Bf16StorageIsBounded) {
  MOVA_REQUIRE_GPU();
  const int64_t n = 4099;
  test::DeviceScratch d;
  void* a = d.zeros(n * 2);
  cuda::fill_uniform(a, DType::kBF16, n, 3, -0.5f, 0.5f);
  for (float v : test::from_bf16(d.download<uint16_t>(a, n))) {
    ASSERT_GE(v, -0.5f);
    ASSERT_LE(v, 0.5f);  // rounding to BF16 may reach hi
  }
}

}  // namespace
}  // namespace mova
