// Feeds arbitrary text to the tokenizer.json -> sentencepiece conversion (a checkpoint file a
// user downloads). Any input must convert or throw mova::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/error.h"
#include "text/tokenizer_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    (void)mova::tokenizer_json_text_to_sentencepiece(
        std::string(reinterpret_cast<const char*>(data), size), "fuzz-input");
  } catch (const mova::Error&) {
  }
  return 0;
}
