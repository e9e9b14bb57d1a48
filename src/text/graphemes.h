// Extended grapheme clusters (Unicode 17.0, UAX #29, every rule), which Hugging Face's
// Precompiled normalizer works on (text/precompiled_charsmap.h).
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

enum class IndicConjunctBreak { kNone, kConsonant, kExtend, kLinker };

// The properties of `cp` (text/grapheme_break_table.cc, generated).
GraphemeBreak grapheme_break(char32_t cp);
IndicConjunctBreak indic_conjunct_break(char32_t cp);

// Where the cluster that starts at byte `pos` of valid UTF-8 `text` ends.
size_t grapheme_end(std::string_view text, size_t pos);

}  // namespace mova
