#include "text/unicode.h"

namespace mova {

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

DecodedChar char_at(std::string_view text, size_t pos) {
  if (pos >= text.size()) return {};
  const auto c = static_cast<unsigned char>(text[pos]);
  const size_t len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
  char32_t cp = len == 1 ? c : c & (0xff >> (len + 1));
  size_t k = 1;
  for (; k < len && pos + k < text.size(); ++k) cp = (cp << 6) | (text[pos + k] & 0x3f);
  return {cp, k};
}

DecodedChar char_before(std::string_view text, size_t pos) {
  if (pos == 0 || pos > text.size()) return {};
  size_t start = pos - 1;
  while (start > 0 && pos - start < 4 && (static_cast<unsigned char>(text[start]) & 0xc0) == 0x80)
    --start;
  DecodedChar c = char_at(text, start);
  c.bytes = pos - start;  // invalid UTF-8 may claim more bytes than lie before pos
  return c;
}

std::u32string decode_utf8(std::string_view text) {
  std::u32string out;
  for (size_t i = 0; i < text.size();) {
    const DecodedChar c = char_at(text, i);
    out.push_back(c.cp);
    i += c.bytes;
  }
  return out;
}

std::string encode_utf8(std::u32string_view text) {
  std::string out;
  for (char32_t cp : text) append_utf8(out, cp);
  return out;
}

bool is_white_space(char32_t cp) {
  return is_unicode_space(cp) && !(cp >= 0x1c && cp <= 0x1f);
}

bool is_unicode_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

}  // namespace mova
