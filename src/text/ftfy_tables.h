// Data that upstream's prompt cleaning takes from Python's standard library, as tables:
// generated into ftfy_tables.cc by tools/reference/gen_ftfy_tables.py.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mova {

// An HTML5 named character reference as Python's html.entities.html5 lists it: the name
// without its '&', with its ';' where the standard requires one ("amp;", and the legacy "amp").
struct HtmlEntity {
  const char* name;
  const char* utf8;  // what it stands for: one or two code points
};
extern const HtmlEntity kHtml5Entities[];  // sorted by name (byte order)
extern const size_t kHtml5EntityCount;

// What ftfy's unescape_html decodes besides the names above that end in ';': the upper-case
// form of each all-lower-case one that html.unescape does not know ("EACUTE;" for "é",
// upper-cased: "É"). Sorted by name.
extern const HtmlEntity kFtfyUpperCaseEntities[];
extern const size_t kFtfyUpperCaseEntityCount;

// ftfy's fix_character_width: U+3000 and the halfwidth/fullwidth forms U+FF01..U+FFEF whose
// NFKC form differs, with that form.
struct WidthMapping {
  uint32_t code_point;
  const char* utf8;
};
extern const WidthMapping kWidthMap[];  // sorted by code point
extern const size_t kWidthMapCount;

}  // namespace mova
