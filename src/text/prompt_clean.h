// Prompt normalisation before tokenizing, as upstream's prompt_clean: ftfy.fix_text, HTML
// unescape twice, whitespace runs collapsed to one space, trimmed.
//
// ftfy.fix_text (6.3) is reproduced in part (ftfy_subset below, docs/text.md): the steps that
// change what the tokenizer sees. Its mojibake repair (fix_encoding) is not reproduced; its NFC
// normalisation is left to the tokenizer's own NFKC normaliser, which gives the same result.
// Invalid UTF-8 is an error.
#pragma once

#include <cstddef>
#include <string>

namespace mova {

// The longest prompt taken, in bytes. Upstream's tokenizer keeps 511 tokens (a few KB of text),
// and ftfy's fix-until-unchanged rounds make cleaning quadratic in nested escapes
// ("&amp;amp;amp;...": 13,000 levels in 52 KB take seconds), so longer input is refused.
constexpr size_t kMaxPromptBytes = 65536;

// Throws Error(kInvalidArgument) for invalid UTF-8 or a prompt over kMaxPromptBytes.
std::string clean_prompt(const std::string& prompt);
// The parts of ftfy.fix_text (default config) that alter prompts before NFKC, line by line and
// until nothing changes: HTML entities unescaped (ftfy's rules; not from the first line with a
// '<' on), C1 controls read as Windows-1252, Latin ligatures and digraphs split, halfwidth and
// fullwidth forms narrowed, curly quotes straightened, terminal escapes and control characters
// removed. Valid UTF-8 in.
std::string ftfy_subset(const std::string& text);
// Python's html.unescape: every HTML5 named reference (with or without ';' as the standard
// allows, longest prefix), decimal and hex references with the standard's invalid-value rules.
std::string html_unescape(const std::string& text);
// Throws Error(kInvalidArgument) naming the byte offset of the first invalid sequence.
void check_utf8(const std::string& text, const char* what);

}  // namespace mova
