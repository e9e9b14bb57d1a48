#include "text/prompt_clean.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/error.h"
#include "text/ftfy_tables.h"
#include "text/unicode.h"

namespace mova {
namespace {

// Windows-1252 meanings of the C1 controls U+0080..U+009F (0: undefined, kept).
constexpr uint16_t kCp1252[32] = {0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
                                  0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017d, 0,
                                  0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
                                  0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178};

char32_t cp1252(char32_t c1) {
  return kCp1252[c1 - 0x80] != 0 ? kCp1252[c1 - 0x80] : c1;
}

// What ftfy (6.3) deletes in remove_control_chars. It keeps the musical format controls and the
// tag characters (emoji flag sequences use those).
bool is_removed_control(char32_t cp) {
  return cp <= 0x08 || cp == 0x0b || (cp >= 0x0e && cp <= 0x1f) || cp == 0x7f ||
         (cp >= 0x206a && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffc);
}

// ftfy's fix_latin_ligatures: Latin typographic ligatures and legacy digraphs, split.
const char* latin_ligature(char32_t cp) {
  switch (cp) {
    case 0x0132:
      return "IJ";
    case 0x0133:
      return "ij";
    case 0x0149:
      return "\xca\xbcn";  // U+02BC n, which uncurl_quotes then makes 'n
    case 0x01c4:
      return "D\xc5\xbd";
    case 0x01c5:
      return "D\xc5\xbe";
    case 0x01c6:
      return "d\xc5\xbe";
    case 0x01c7:
      return "LJ";
    case 0x01c8:
      return "Lj";
    case 0x01c9:
      return "lj";
    case 0x01ca:
      return "NJ";
    case 0x01cb:
      return "Nj";
    case 0x01cc:
      return "nj";
    case 0x01f1:
      return "DZ";
    case 0x01f2:
      return "Dz";
    case 0x01f3:
      return "dz";
    case 0xfb00:
      return "ff";
    case 0xfb01:
      return "fi";
    case 0xfb02:
      return "fl";
    case 0xfb03:
      return "ffi";
    case 0xfb04:
      return "ffl";
    case 0xfb05:
      return "\xc5\xbft";  // long s + t
    case 0xfb06:
      return "st";
    default:
      return nullptr;
  }
}

// The value of `name` in a table sorted by name, or nullptr.
const char* find_entity(const HtmlEntity* table, size_t count, std::string_view name) {
  const HtmlEntity* end = table + count;
  const HtmlEntity* it = std::lower_bound(
      table, end, name, [](const HtmlEntity& e, std::string_view n) { return e.name < n; });
  return it != end && it->name == name ? it->utf8 : nullptr;
}

// ftfy's fix_character_width for one code point, or nullptr when it keeps it.
const char* width_form(char32_t cp) {
  if (cp != 0x3000 && (cp < 0xff01 || cp > 0xffef)) return nullptr;
  const WidthMapping* end = kWidthMap + kWidthMapCount;
  const WidthMapping* it = std::lower_bound(
      kWidthMap, end, cp, [](const WidthMapping& m, char32_t c) { return m.code_point < c; });
  return it != end && it->code_point == cp ? it->utf8 : nullptr;
}

bool is_ascii_digit(char32_t c) {
  return c >= '0' && c <= '9';
}
bool is_ascii_letter(char32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_ascii_hex(char32_t c) {
  return is_ascii_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Python's html._replace_charref for a numeric reference of value `num` (saturated above
// U+10FFFF): the HTML5 rules for invalid references.
std::u32string numeric_reference(uint32_t num) {
  if (num == 0) return U"\ufffd";
  if (num == 0x0d) return U"\r";
  if (num >= 0x80 && num <= 0x9f) return std::u32string(1, cp1252(num));
  if ((num >= 0xd800 && num <= 0xdfff) || num > 0x10ffff) return U"\ufffd";
  const bool invalid = (num >= 0x01 && num <= 0x08) || num == 0x0b ||
                       (num >= 0x0e && num <= 0x1f) || num == 0x7f ||
                       (num >= 0xfdd0 && num <= 0xfdef) || (num & 0xfffe) == 0xfffe;
  return invalid ? U"" : std::u32string(1, static_cast<char32_t>(num));
}

// Python's html.unescape: the references its regex
//   &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
// finds, replaced as html._replace_charref does. A name that is not an entity gives way to its
// longest prefix that is one, as the standard says ("&notit;" reads "¬it;").
std::u32string python_unescape(std::u32string_view s) {
  std::u32string out;
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    const size_t j = i + 1;
    if (j < n && s[j] == '#') {
      uint32_t num = 0;
      size_t k = j + 1;
      while (k < n && is_ascii_digit(s[k]))
        num = std::min<uint32_t>(num * 10 + (s[k++] - '0'), 0x110000);
      if (k == j + 1 && k + 1 < n && (s[k] == 'x' || s[k] == 'X') && is_ascii_hex(s[k + 1])) {
        for (++k; k < n && is_ascii_hex(s[k]); ++k) {
          const char32_t c = s[k];
          const uint32_t d = is_ascii_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10;
          num = std::min<uint32_t>(num * 16 + d, 0x110000);
        }
      }
      if (k == j + 1) {  // "&#" followed by neither digits nor x and hex digits
        out.push_back(s[i++]);
        continue;
      }
      if (k < n && s[k] == ';') ++k;
      out += numeric_reference(num);
      i = k;
      continue;
    }
    const auto name_char = [](char32_t c) {
      return c != '\t' && c != '\n' && c != '\f' && c != ' ' && c != '<' && c != '&' && c != '#' &&
             c != ';';
    };
    size_t k = j;
    while (k < n && k - j < 32 && name_char(s[k])) ++k;
    if (k == j) {
      out.push_back(s[i++]);
      continue;
    }
    if (k < n && s[k] == ';') ++k;
    const std::u32string_view name = s.substr(j, k - j);
    i = k;
    const std::string bytes = encode_utf8(name);
    if (const char* v = find_entity(kHtml5Entities, kHtml5EntityCount, bytes)) {
      out += decode_utf8(v);
      continue;
    }
    // Entity names are ASCII, so only prefixes within the leading ASCII run can match, and there
    // a prefix of x code points is x bytes.
    const size_t ascii = static_cast<size_t>(
        std::find_if(name.begin(), name.end(), [](char32_t c) { return c >= 0x80; }) -
        name.begin());
    size_t x = std::min(name.size() - 1, ascii);
    const char* prefix = nullptr;
    for (; x > 1 && !prefix; --x)
      prefix = find_entity(kHtml5Entities, kHtml5EntityCount, std::string_view(bytes).substr(0, x));
    if (prefix) {
      out += decode_utf8(prefix);
      out += name.substr(x + 1);
    } else {
      out.push_back('&');
      out += name;
    }
  }
  return out;
}

// ftfy's unescape_html: the references its regex &#?[0-9A-Za-z]{1,24}; finds; a name from its
// own table (upper-case forms included), a numeric reference only when html.unescape consumes
// it whole.
std::u32string ftfy_unescape(std::u32string_view s) {
  std::u32string out;
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    if (s[i] != '&') {
      out.push_back(s[i++]);
      continue;
    }
    const bool numeric = i + 1 < n && s[i + 1] == '#';
    const size_t j = i + (numeric ? 2 : 1);
    size_t k = j;
    while (k < n && k - j < 24 && (is_ascii_digit(s[k]) || is_ascii_letter(s[k]))) ++k;
    if (k == j || k >= n || s[k] != ';') {
      out.push_back(s[i++]);
      continue;
    }
    const std::u32string_view whole = s.substr(i, k + 1 - i);
    i = k + 1;
    if (!numeric) {
      const std::string name = encode_utf8(whole.substr(1));  // ends in ';'
      const char* v = find_entity(kHtml5Entities, kHtml5EntityCount, name);
      if (!v) v = find_entity(kFtfyUpperCaseEntities, kFtfyUpperCaseEntityCount, name);
      out += v ? decode_utf8(v) : std::u32string(whole);
      continue;
    }
    const std::u32string decoded = python_unescape(whole);
    out += decoded.find(';') == std::u32string::npos ? decoded : std::u32string(whole);
  }
  return out;
}

// One round of the ftfy.fix_and_explain steps that change what the tokenizer sees, in its
// order (fix_encoding and NFC left out: docs/text.md).
std::u32string ftfy_round(std::u32string_view in, bool unescape) {
  const std::u32string text = unescape ? ftfy_unescape(in) : std::u32string(in);
  std::u32string fixed;
  for (char32_t cp : text) {
    if (cp >= 0x80 && cp <= 0x9f) cp = cp1252(cp);  // fix_c1_controls
    if (const char* split = latin_ligature(cp)) {
      fixed += decode_utf8(split);
    } else if (const char* narrow = width_form(cp)) {
      fixed += decode_utf8(narrow);
    } else {
      fixed.push_back(cp);
    }
  }
  std::u32string out;
  for (size_t i = 0; i < fixed.size(); ++i) {
    char32_t cp = fixed[i];
    if (cp == 0x02bc || (cp >= 0x2018 && cp <= 0x201b)) cp = '\'';  // uncurl_quotes
    if (cp >= 0x201c && cp <= 0x201f) cp = '"';
    if (cp == 0x1b && i + 1 < fixed.size() && fixed[i + 1] == '[') {  // "\e[1;31m"
      size_t j = i + 2;
      while (j < fixed.size() && (is_ascii_digit(fixed[j]) || fixed[j] == ';')) ++j;
      if (j < fixed.size() && is_ascii_letter(fixed[j])) {
        i = j;
        continue;
      }
    }
    if (!is_removed_control(cp)) out.push_back(cp);
  }
  return out;
}

}  // namespace

void check_utf8(const std::string& s, const char* what) {
  const size_t n = s.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = s[i];
    size_t extra = 0;
    bool ok = true;
    if (c < 0x80) {
      extra = 0;
    } else if (c >= 0xc2 && c <= 0xdf) {
      extra = 1;
    } else if ((c >> 4) == 0xe) {
      extra = 2;
    } else if (c >= 0xf0 && c <= 0xf4) {
      extra = 3;
    } else {
      ok = false;
    }
    ok = ok && i + extra < n;
    for (size_t k = 1; ok && k <= extra; ++k)
      ok = (static_cast<unsigned char>(s[i + k]) >> 6) == 0x2;
    if (ok && extra >= 2) {  // no overlong forms, surrogates or code points past U+10FFFF
      const unsigned char c1 = s[i + 1];
      ok = !(c == 0xe0 && c1 < 0xa0) && !(c == 0xed && c1 >= 0xa0) && !(c == 0xf0 && c1 < 0x90) &&
           !(c == 0xf4 && c1 >= 0x90);
    }
    MOVA_CHECK(ok, ErrorKind::kInvalidArgument, what, " is not valid UTF-8 (byte offset ", i, ")");
    i += extra + 1;
  }
}

std::string ftfy_subset(const std::string& text) {
  // fix_text works on segments of one line each (at most 10^6 characters). Once a segment holds
  // a '<' (it may be real HTML), that one and every later one keep their entities. A segment is
  // fixed round after round until a round changes nothing.
  constexpr size_t kMaxSegment = 1000000;
  const std::u32string in = decode_utf8(text);
  std::u32string out;
  bool unescape = true;
  for (size_t pos = 0; pos < in.size();) {
    size_t end = in.find(U'\n', pos);
    end = std::min(end == std::u32string::npos ? in.size() : end + 1, pos + kMaxSegment);
    std::u32string segment = in.substr(pos, end - pos);
    if (segment.find(U'<') != std::u32string::npos) unescape = false;
    for (;;) {
      std::u32string fixed = ftfy_round(segment, unescape);
      if (fixed == segment) break;
      segment = std::move(fixed);
    }
    out += segment;
    pos = end;
  }
  return encode_utf8(out);
}

std::string html_unescape(const std::string& text) {
  return encode_utf8(python_unescape(decode_utf8(text)));
}

std::string clean_prompt(const std::string& prompt) {
  MOVA_CHECK(prompt.size() <= kMaxPromptBytes, ErrorKind::kInvalidArgument, "prompt of ",
             prompt.size(), " bytes: at most ", kMaxPromptBytes, " are taken");
  check_utf8(prompt, "prompt");
  const std::string text = html_unescape(html_unescape(ftfy_subset(prompt)));
  std::string out;
  bool pending_space = false;
  for (size_t i = 0; i < text.size();) {
    const auto [cp, len] = char_at(text, i);
    if (is_unicode_space(cp)) {
      pending_space = !out.empty();
    } else {
      if (pending_space) out.push_back(' ');
      pending_space = false;
      out.append(text, i, len);
    }
    i += len;
  }
  return out;
}

}  // namespace mova
