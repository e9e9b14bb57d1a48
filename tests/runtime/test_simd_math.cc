// The vectorised exp (runtime/cpu/simd_math.h) behind the online softmax and the sigmoid-gated
// activations, on the scalar and the AVX2 path, against float64.
//  - exp: ≤ 2 ulp where the result is a normal float; smaller results (gradual underflow, and
//    0 below x = −104) within 2 ulp + two denormal steps (2⁻¹⁴⁸); +inf above ln FLT_MAX, 0 for
//    −∞, NaN for NaN. The sum it returns: 1e-6 relative.
//  - SiLU and GELU(tanh) = x / (1 + e^(−a)): 5e-7 relative, and for GELU + 2e-7·|a|·w with
//    w = e^(−a) / (1 + e^(−a)): a's own float rounding (four float operations from x) moved
//    through the sigmoid, whose relative sensitivity to a is w; + 1e-36 absolute: e^(−a)
//    overflows for a < −88.7, which flushes GELU values under ~1e-37 (x < −10) to 0, where
//    0.5·x·(1 + tanh(u)) in float is 0 from x ≈ −4.6 on.
#include <gtest/gtest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <limits>
#include <numbers>
#include <string>
#include <vector>

#include "runtime/cpu/cpu_features.h"
#include "runtime/cpu/kernels.h"

namespace mova {
namespace {

class SimdMath : public ::testing::TestWithParam<cpu::Isa> {
 protected:
  void SetUp() override {
    cpu::set_isa_cap(GetParam());
    if (cpu::active_isa() < GetParam()) GTEST_SKIP() << "CPU lacks " << cpu::isa_name(GetParam());
  }
  void TearDown() override { cpu::set_isa_cap(cpu::Isa::kAvx512); }
};

double ulp_error(float got, double ref) {
  const float r = static_cast<float>(ref);
  const double ulp = std::nextafter(r, std::numeric_limits<float>::infinity()) - r;
  return std::fabs(got - ref) / ulp;
}

TEST_P(SimdMath, ExpShiftedSumMatchesFloat64) {
  std::vector<float> x;
  for (int i = 0; i <= 28045; ++i) x.push_back(static_cast<float>(-110.0 + 0.00731 * i));
  for (const float v :
       {0.0f, -0.0f, 88.72f, 88.7228f, 88.73f, -87.33f, -103.9f, -104.1f, 1e-30f, -1e-30f})
    x.push_back(v);
  while (x.size() % 8 != 5) x.push_back(0.0f);  // a tail that is not a whole group of eight
  for (const float shift : {0.0f, 3.5f}) {
    std::vector<float> y = x;
    cpu::exp_shifted_sum(y.data(), static_cast<int64_t>(y.size()), shift);  // sum: below
    double max_ulp = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double ref = std::exp(static_cast<double>(x[i] - shift));
      if (ref > FLT_MAX) {
        ASSERT_EQ(y[i], INFINITY) << "x " << x[i];
      } else if (ref >= FLT_MIN) {
        const double e = ulp_error(y[i], ref);
        max_ulp = std::max(max_ulp, e);
        ASSERT_LE(e, 2.0) << "x " << x[i] << " shift " << shift << " got " << y[i];
      } else {
        ASSERT_LE(std::fabs(y[i] - ref), 2.4e-7 * ref + 0x1p-148) << "x " << x[i];
      }
    }
    std::printf("[ measure  ] exp (%s), shift %.1f: max %.2f ulp over %zu values\n",
                cpu::isa_name(cpu::active_isa()), shift, max_ulp, x.size());
  }
  // The sum, over values whose exps all fit in a float.
  std::vector<float> z(1001);
  double z_sum = 0.0;
  for (size_t i = 0; i < z.size(); ++i) {
    z[i] = static_cast<float>(-60.0 + 0.13 * static_cast<double>(i));
    z_sum += std::exp(static_cast<double>(z[i]) - 2.0);
  }
  EXPECT_NEAR(cpu::exp_shifted_sum(z.data(), static_cast<int64_t>(z.size()), 2.0f), z_sum,
              1e-6 * z_sum);
  float special[] = {-INFINITY, INFINITY, NAN, 1.0f};
  cpu::exp_shifted_sum(special, 4, 0.0f);
  EXPECT_EQ(special[0], 0.0f);
  EXPECT_EQ(special[1], INFINITY);
  EXPECT_TRUE(std::isnan(special[2]));
  EXPECT_NEAR(special[3], std::exp(1.0), 2e-7 * std::exp(1.0));
}

TEST_P(SimdMath, SigmoidGatedActivationsMatchFloat64) {
  std::vector<float> x;
  for (int i = 0; i <= 15915; ++i) x.push_back(static_cast<float>(-30.0 + 0.00377 * i));
  x.push_back(0.0f);
  for (const bool gelu : {false, true}) {
    std::vector<float> y(x.size());
    cpu::unary(gelu ? cpu::Unary::kGeluTanh : cpu::Unary::kSilu, x.data(), y.data(),
               static_cast<int64_t>(x.size()), nullptr);
    double worst = 0.0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double v = x[i];
      const double a =
          gelu ? 2.0 * std::sqrt(2.0 / std::numbers::pi) * (v + 0.044715 * v * v * v) : v;
      const double ref = v / (1.0 + std::exp(-a));
      const double w = 1.0 / (1.0 + std::exp(a));  // e^(−a) / (1 + e^(−a))
      const double rel_bound = 5e-7 + (gelu ? 2e-7 * std::fabs(a) * w : 0.0);
      const double err = std::fabs(y[i] - ref);
      worst = std::max(worst, err / (rel_bound * std::fabs(ref) + 1e-36));
      ASSERT_LE(err, rel_bound * std::fabs(ref) + 1e-36)
          << (gelu ? "gelu_tanh" : "silu") << " x " << v << " got " << y[i] << " ref " << ref;
    }
    std::printf("[ measure  ] %s (%s): worst error %.2f of its bound over %zu values\n",
                gelu ? "gelu_tanh" : "silu", cpu::isa_name(cpu::active_isa()), worst, x.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, SimdMath, ::testing::Values(cpu::Isa::kScalar, cpu::Isa::kAvx2),
                         [](const auto& info) { return std::string(cpu::isa_name(info.param)); });

}  // namespace
}  // namespace mova
