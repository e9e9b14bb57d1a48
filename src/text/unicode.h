// The few Unicode facts the text side needs: UTF-8 to code points and back, and the character
// classes that upstream's Python and Hugging Face's tokenizers test. UTF-8 input is assumed
// valid (check_utf8 in text/prompt_clean.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mova {

void append_utf8(std::string& out, char32_t cp);
std::u32string decode_utf8(std::string_view text);
std::string encode_utf8(std::u32string_view text);

struct DecodedChar {
  char32_t cp = 0;
  size_t bytes = 0;  // 0 when there is no character there
};
// The character starting at byte `pos`, and the one ending just before it.
DecodedChar char_at(std::string_view text, size_t pos);
DecodedChar char_before(std::string_view text, size_t pos);

// Python's str.isspace (what upstream's `\s+` matches).
bool is_unicode_space(char32_t cp);
// The White_Space property (Rust's char::is_whitespace, which tokenizers' Strip and the added
// tokens' lstrip/rstrip test): Python's set without U+001C..U+001F.
bool is_white_space(char32_t cp);
// The Rust regex crate's Unicode `\w` (text/word_chars.cc, generated).
bool is_word_char(char32_t cp);

}  // namespace mova
