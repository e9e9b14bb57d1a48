// CUDA emulator (tests/cuda_emulator): the IEEE half storage type and its conversions (round to
// nearest even, subnormals, infinities and NaNs), written here from the binary16 format.
// Deliberately not runtime/dtype.h's conversion: test_emulator.cu checks the two against
// each other.
#pragma once

#include <cstdint>
#include <cstring>

struct __half {
  uint16_t __x;
};

inline __half __float2half_rn(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) return {static_cast<uint16_t>(sign | 0x7e00u)};   // NaN
  if (abs >= 0x477ff000u) return {static_cast<uint16_t>(sign | 0x7c00u)};  // rounds past 65504
  const int exponent = static_cast<int>(abs >> 23) - 127;
  if (exponent >= -14) {  // normal half: drop 13 mantissa bits, nearest even
    uint32_t h = ((static_cast<uint32_t>(exponent + 15) << 10) | ((abs >> 13) & 0x3ffu));
    const uint32_t rest = abs & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
    return {static_cast<uint16_t>(sign | h)};
  }
  if (exponent < -25) return {sign};  // below half the smallest subnormal
  // Subnormal half: the value in units of 2^-24, nearest even.
  const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
  const int shift = -exponent - 14 + 13;  // 14..24
  uint32_t h = mantissa >> shift;
  const uint32_t rest = mantissa & ((1u << shift) - 1u), half = 1u << (shift - 1);
  if (rest > half || (rest == half && (h & 1u))) ++h;
  return {static_cast<uint16_t>(sign | h)};
}
inline __half __float2half(float f) {
  return __float2half_rn(f);
}
inline float __half2float(__half h) {
  const uint32_t sign = static_cast<uint32_t>(h.__x & 0x8000u) << 16;
  const uint32_t exponent = (h.__x >> 10) & 0x1fu, mantissa = h.__x & 0x3ffu;
  uint32_t u;
  if (exponent == 0x1fu) {
    u = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    u = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    u = sign;
  } else {  // subnormal: normalise
    int e = -1;
    uint32_t m = mantissa;
    do {
      ++e;
      m <<= 1;
    } while ((m & 0x400u) == 0);
    u = sign | ((112u - static_cast<uint32_t>(e)) << 23) | ((m & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
