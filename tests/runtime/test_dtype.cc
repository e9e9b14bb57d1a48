#include <gtest/gtest.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <random>

#include "runtime/dtype.h"

namespace mova {
namespace {

// Reference conversions by the CPU's own F16C instructions, independent of our bit twiddling.
__attribute__((target("f16c"))) uint16_t hw_f32_to_f16(float f) {
  return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT));
}
__attribute__((target("f16c"))) float hw_f16_to_f32(uint16_t h) {
  return _cvtsh_ss(h);
}

bool has_f16c() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2");  // every AVX2 CPU has F16C
}

TEST(DType, NamesRoundTrip) {
  for (const char* name : {"F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL",
                           "F8_E4M3", "F8_E5M2"}) {
    auto d = dtype_from_name(name);
    ASSERT_TRUE(d.has_value()) << name;
    EXPECT_STREQ(dtype_name(*d), name);
  }
  EXPECT_FALSE(dtype_from_name("F31").has_value());
  EXPECT_EQ(dtype_size(DType::kBF16), 2u);
  EXPECT_EQ(dtype_size(DType::kI64), 8u);
}

TEST(DType, F16AllBitPatternsMatchHardware) {
  if (!has_f16c()) GTEST_SKIP() << "no F16C on this CPU";
  for (uint32_t h = 0; h < 65536; ++h) {
    const float ours = f16_to_f32(static_cast<uint16_t>(h));
    const float hw = hw_f16_to_f32(static_cast<uint16_t>(h));
    if (std::isnan(hw)) {
      EXPECT_TRUE(std::isnan(ours)) << h;
    } else {
      EXPECT_EQ(std::memcmp(&ours, &hw, 4), 0) << "bits " << h;
    }
  }
}

TEST(DType, F32ToF16RoundingMatchesHardware) {
  if (!has_f16c()) GTEST_SKIP() << "no F16C on this CPU";
  std::mt19937 rng(7);
  for (int i = 0; i < 2000000; ++i) {
    uint32_t bits = rng();
    float f;
    std::memcpy(&f, &bits, 4);
    if (std::isnan(f)) continue;
    ASSERT_EQ(f32_to_f16(f), hw_f32_to_f16(f)) << "f32 bits " << std::hex << bits;
  }
}

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3f80);
  // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties to even (1.0).
  EXPECT_EQ(f32_to_bf16(1.00390625f), 0x3f80);
  // 1 + 3·2^-8 is halfway between 1.0078125 (odd) and 1.015625 (even): rounds up.
  EXPECT_EQ(f32_to_bf16(1.01171875f), 0x3f82);
  EXPECT_EQ(bf16_to_f32(0xc000), -2.0f);
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::nanf("")))));
  std::mt19937 rng(3);
  for (int i = 0; i < 100000; ++i) {
    const float f = std::ldexp(static_cast<float>(rng()) / 4294967296.0f - 0.5f, rng() % 40 - 20);
    const float r = bf16_to_f32(f32_to_bf16(f));
    EXPECT_LE(std::fabs(r - f), std::fabs(f) * (1.0f / 256.0f)) << f;
  }
}

TEST(DType, ConvertIntegersAndFp8) {
  const int64_t ints[] = {-3, 0, 7};
  float out[3];
  convert_to_f32(ints, DType::kI64, out, 3);
  EXPECT_EQ(out[0], -3.0f);
  EXPECT_EQ(out[2], 7.0f);
  // E4M3: 0x38 = 1.0, 0xb8 = -1.0, 0x7e = 448 (max finite); E5M2: 0x3c = 1.0.
  const uint8_t e4[] = {0x38, 0xb8, 0x7e};
  convert_to_f32(e4, DType::kF8E4M3, out, 3);
  EXPECT_EQ(out[0], 1.0f);
  EXPECT_EQ(out[1], -1.0f);
  EXPECT_EQ(out[2], 448.0f);
  const uint8_t e5[] = {0x3c};
  convert_to_f32(e5, DType::kF8E5M2, out, 1);
  EXPECT_EQ(out[0], 1.0f);
}

}  // namespace
}  // namespace mova
