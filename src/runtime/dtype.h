// Element types. Names follow the safetensors spelling ("F32", "BF16", ...), which is also how
// they appear in error messages and in `mova info`.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace mova {

enum class DType : uint8_t {
  kF32,
  kF16,
  kBF16,
  kF64,
  kI64,
  kI32,
  kI16,
  kI8,
  kU8,
  kBool,
  kF8E4M3,
  kF8E5M2
};

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);
std::optional<DType> dtype_from_name(std::string_view name);
bool dtype_is_float(DType dtype);

// bf16 is the upper half of an f32; rounding to nearest even, NaN kept quiet.
inline float bf16_to_f32(uint16_t bits) {
  uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(u >> 16);
}

float f16_to_f32(uint16_t bits);
uint16_t f32_to_f16(float f);

// Converts `count` elements of `src` (of dtype `from`) to f32. Integer types convert by value.
void convert_to_f32(const void* src, DType from, float* dst, size_t count);
// Converts `count` f32 values to `to` (a float dtype: F32, F16, BF16, F64).
void convert_from_f32(const float* src, void* dst, DType to, size_t count);

}  // namespace mova
