// Where a tensor's memory lives: the host, or one CUDA device. Spelled as the `--device`
// option spells it: "cpu", "cuda" (device 0) or "cuda:N".
#pragma once

#include <cstdint>
#include <string>

namespace mova {

struct Device {
  enum class Kind : uint8_t { kCpu, kCuda };
  Kind kind = Kind::kCpu;
  int index = 0;

  static Device cpu() { return {}; }
  static Device cuda(int index = 0) { return {Kind::kCuda, index}; }
  bool is_cpu() const { return kind == Kind::kCpu; }
  std::string str() const;  // "cpu", "cuda:0"
  // Spelled out: device.h also reaches the CUDA kernels, which nvcc compiles as C++17.
  bool operator==(const Device& o) const { return kind == o.kind && index == o.index; }
  bool operator!=(const Device& o) const { return !(*this == o); }
};

// Parses `text`; throws kInvalidArgument naming `option` and the accepted spellings otherwise.
Device parse_device(const std::string& text, const std::string& option);

}  // namespace mova
