#include "text/graphemes.h"

#include "text/unicode.h"

namespace mova {
namespace {

using B = GraphemeBreak;

using C = IndicConjunctBreak;

// What the cluster so far ends with, for the rules that look further back than one character.
struct Context {
  bool emoji = false;      // GB11: Extended_Pictographic Extend*
  bool emoji_zwj = false;  // ... then a ZWJ
  int conjunct = 0;        // GB9c: 1 after a Consonant [Extend Linker]*, 2 once a Linker is in
  int regional_indicators = 0;

  void add(B b, char32_t cp) {
    emoji_zwj = emoji && b == B::kZWJ;
    emoji = (emoji && b == B::kExtend) || b == B::kExtendedPictographic;
    regional_indicators = b == B::kRegionalIndicator ? regional_indicators + 1 : 0;
    const C c = indic_conjunct_break(cp);
    if (c == C::kConsonant)
      conjunct = 1;
    else if (c == C::kLinker && conjunct > 0)
      conjunct = 2;
    else if (c != C::kExtend)
      conjunct = 0;
  }
};

// Whether UAX #29 keeps `prev` and `next` (class `next_class`) in one cluster after `ctx`.
bool joins(B prev, B next, char32_t next_cp, const Context& ctx) {
  if (prev == B::kCR && next == B::kLF) return true;  // GB3
  if (prev == B::kControl || prev == B::kCR || prev == B::kLF || next == B::kControl ||
      next == B::kCR || next == B::kLF)
    return false;  // GB4, GB5
  if (prev == B::kL && (next == B::kL || next == B::kV || next == B::kLV || next == B::kLVT))
    return true;                                                                           // GB6
  if ((prev == B::kLV || prev == B::kV) && (next == B::kV || next == B::kT)) return true;  // GB7
  if ((prev == B::kLVT || prev == B::kT) && next == B::kT) return true;                    // GB8
  if (next == B::kExtend || next == B::kZWJ || next == B::kSpacingMark || prev == B::kPrepend)
    return true;  // GB9, GB9a, GB9b
  if (ctx.conjunct == 2 && indic_conjunct_break(next_cp) == C::kConsonant) return true;  // GB9c
  if (ctx.emoji_zwj && next == B::kExtendedPictographic) return true;                    // GB11
  if (prev == B::kRegionalIndicator && next == B::kRegionalIndicator)
    return ctx.regional_indicators % 2 == 1;  // GB12, GB13
  return false;                               // GB999
}

}  // namespace

size_t grapheme_end(std::string_view text, size_t pos) {
  DecodedChar c = char_at(text, pos);
  if (c.bytes == 0) return pos;
  B prev = grapheme_break(c.cp);
  Context ctx;
  ctx.add(prev, c.cp);
  pos += c.bytes;
  for (; (c = char_at(text, pos)).bytes > 0; pos += c.bytes) {
    const B next = grapheme_break(c.cp);
    if (!joins(prev, next, c.cp, ctx)) break;
    ctx.add(next, c.cp);
    prev = next;
  }
  return pos;
}

}  // namespace mova
