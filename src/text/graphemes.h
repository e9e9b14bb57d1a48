// Extended grapheme clusters (Unicode 16.0, UAX #29), which Hugging Face's Precompiled
// normalizer works on (text/precompiled_charsmap.h). All rules but GB9c (Indic conjuncts,
// whose property is not in the generated table): GB9c only joins clusters made of 3-byte
// characters, which that normalizer treats alike joined or not.
#pragma once

#include <cstddef>
#include <string_view>

namespace mova {

enum class GraphemeBreak {
  kOther,
  kCR,
  kLF,
  kControl,
  kExtend,
  kZWJ,
  kRegionalIndicator,
  kPrepend,
  kSpacingMark,
  kL,
  kV,
  kT,
  kLV,
  kLVT,
  kExtendedPictographic,  // the Extended_Pictographic property (its GCB is Other)
};

// The class of `cp` (text/grapheme_break_table.cc, generated).
GraphemeBreak grapheme_break(char32_t cp);

// Where the cluster that starts at byte `pos` of valid UTF-8 `text` ends.
size_t grapheme_end(std::string_view text, size_t pos);

}  // namespace mova
