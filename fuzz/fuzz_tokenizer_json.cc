// Feeds arbitrary text to the tokenizer.json reader and the sentencepiece conversion (a
// checkpoint file a user downloads), and splits the input itself at the added tokens it
// declares. Any input must convert or throw mova::Error.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/error.h"
#include "text/precompiled_charsmap.h"
#include "text/tokenizer_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const mova::TokenizerJson t = mova::parse_tokenizer_json(text, "fuzz-input");
    (void)mova::sentencepiece_model(t);
    const mova::PrecompiledCharsmap charsmap(t.charsmap, "fuzz-input");
    (void)charsmap.normalize(text);
    size_t covered = 0;
    for (const mova::TextSpan& s : mova::split_added_tokens(text, t.added_tokens)) {
      if (s.offset != covered || (s.text.empty() && s.token_id < 0)) __builtin_trap();
      covered += s.text.size();
    }
    if (covered != text.size()) __builtin_trap();
  } catch (const mova::Error&) {
  }
  return 0;
}
