#include "text/graphemes.h"

#include "text/unicode.h"

namespace mova {
namespace {

using B = GraphemeBreak;

// Whether UAX #29 keeps `prev` and `next` in one cluster. `emoji_zwj`: the cluster so far ends
// in Extended_Pictographic Extend* ZWJ; `regional_indicators`: how many it ends with.
bool joins(B prev, B next, bool emoji_zwj, int regional_indicators) {
  if (prev == B::kCR && next == B::kLF) return true;  // GB3
  if (prev == B::kControl || prev == B::kCR || prev == B::kLF || next == B::kControl ||
      next == B::kCR || next == B::kLF)
    return false;  // GB4, GB5
  if (prev == B::kL && (next == B::kL || next == B::kV || next == B::kLV || next == B::kLVT))
    return true;                                                                           // GB6
  if ((prev == B::kLV || prev == B::kV) && (next == B::kV || next == B::kT)) return true;  // GB7
  if ((prev == B::kLVT || prev == B::kT) && next == B::kT) return true;                    // GB8
  if (next == B::kExtend || next == B::kZWJ || next == B::kSpacingMark || prev == B::kPrepend)
    return true;                                                   // GB9, GB9a, GB9b
  if (emoji_zwj && next == B::kExtendedPictographic) return true;  // GB11
  if (prev == B::kRegionalIndicator && next == B::kRegionalIndicator)
    return regional_indicators % 2 == 1;  // GB12, GB13
  return false;                           // GB999
}

}  // namespace

size_t grapheme_end(std::string_view text, size_t pos) {
  DecodedChar c = char_at(text, pos);
  if (c.bytes == 0) return pos;
  B prev = grapheme_break(c.cp);
  pos += c.bytes;
  bool emoji = prev == B::kExtendedPictographic;  // GB11: ExtPict Extend* so far
  bool emoji_zwj = false;                         // ... followed by a ZWJ
  int regional_indicators = prev == B::kRegionalIndicator ? 1 : 0;
  for (; (c = char_at(text, pos)).bytes > 0; pos += c.bytes) {
    const B next = grapheme_break(c.cp);
    if (!joins(prev, next, emoji_zwj, regional_indicators)) break;
    emoji_zwj = emoji && next == B::kZWJ;
    emoji = (emoji && next == B::kExtend) || next == B::kExtendedPictographic;
    regional_indicators = next == B::kRegionalIndicator ? regional_indicators + 1 : 0;
    prev = next;
  }
  return pos;
}

}  // namespace mova
