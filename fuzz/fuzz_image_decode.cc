// Feeds arbitrary bytes to the PNG/JPEG decoder wrapper (image input of `mova generate`). Any
// input must decode or throw mova::Error; crashes, leaks and UB are findings.
#include <cstddef>
#include <cstdint>

#include "media/image_io.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const mova::RgbImage img = mova::decode_image(data, size, "fuzz-input");
    if (img.pixels.size() != static_cast<size_t>(img.width * img.height * 3)) __builtin_trap();
  } catch (const mova::Error&) {
  }
  return 0;
}
