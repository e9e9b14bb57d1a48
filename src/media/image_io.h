// Reading PNG/JPEG files into RGB and writing PNG. Decoding follows what PIL's
// Image.open(...).convert("RGB") yields (alpha dropped, not composited; palette and grey
// expanded; no gamma correction; libjpeg defaults), because upstream preprocesses the first
// frame with PIL.
#pragma once

#include <string>

#include "media/image.h"

namespace mova {

// Detects the format from the file's first bytes, not its extension. Errors name the file.
RgbImage read_image(const std::string& path);
// Decodes an in-memory PNG or JPEG; `name` is used in error messages.
RgbImage decode_image(const uint8_t* data, size_t size, const std::string& name);

// Writes an 8-bit RGB PNG atomically (temporary name, then rename).
void write_png(const std::string& path, const RgbImage& image);

}  // namespace mova
