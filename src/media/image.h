// An 8-bit RGB image in memory (interleaved, row-major, no padding): what image files decode
// to, what the resizer works on, and what the video decoder's frames become before encoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace mova {

struct RgbImage {
  int64_t width = 0;
  int64_t height = 0;
  std::vector<uint8_t> pixels;  // width * height * 3

  RgbImage() = default;
  RgbImage(int64_t w, int64_t h) : width(w), height(h), pixels(static_cast<size_t>(w * h * 3)) {}
  uint8_t* row(int64_t y) { return pixels.data() + y * width * 3; }
  const uint8_t* row(int64_t y) const { return pixels.data() + y * width * 3; }
};

}  // namespace mova
