// Feeds arbitrary bytes to the precompiled-charsmap reader and normalizer (a spiece.model's or
// tokenizer.json's charsmap, from a file a user downloads), and to the protobuf field reader
// that finds it in a spiece.model. Input: a 2-byte little-endian charsmap size, the charsmap,
// then the text to normalize. Any input must normalize or throw mova::Error.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/error.h"
#include "text/precompiled_charsmap.h"
#include "text/protobuf_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  try {
    (void)mova::protobuf::last_bytes_field(bytes, 3, "fuzz-input");
  } catch (const mova::Error&) {
  }
  if (size < 2) return 0;
  const size_t blob_size = std::min<size_t>(data[0] | (data[1] << 8), size - 2);
  try {
    const mova::PrecompiledCharsmap charsmap(bytes.substr(2, blob_size), "fuzz-input");
    (void)charsmap.normalize(bytes.substr(2 + blob_size));
  } catch (const mova::Error&) {
  }
  return 0;
}
