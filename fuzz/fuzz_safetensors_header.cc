// Feeds arbitrary bytes to the safetensors header parser as if they were a whole file. Any
// input must either parse or throw mova::Error; crashes, leaks and UB are findings.
#include <cstddef>
#include <cstdint>

#include "io/safetensors.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const mova::SafetensorsHeader h = mova::parse_safetensors_header(data, size, "fuzz-input");
    // Touch what a loader would: every byte range must lie inside the input.
    for (const auto& t : h.tensors) {
      if (h.data_offset + t.end > size) __builtin_trap();
    }
  } catch (const mova::Error&) {
  }
  return 0;
}
