// Prompt normalisation before tokenizing, as upstream's prompt_clean: ftfy.fix_text, HTML
// unescape twice, whitespace runs collapsed to one space, trimmed.
//
// ftfy.fix_text is reproduced in part (ftfy_subset below, docs/text.md): the steps that change
// what the tokenizer sees. Its mojibake repair (fix_encoding) is not reproduced; its width
// and NFC normalisation are left to the tokenizer's own NFKC normaliser, which gives the same
// result. Invalid UTF-8 is an error.
#pragma once

#include <string>

namespace mova {

std::string clean_prompt(const std::string& prompt);
// The parts of ftfy.fix_text (default config) that alter prompts before NFKC: HTML unescape
// when there is no '<', terminal escapes removed, C1 controls read as Windows-1252, Latin
// ligatures split, curly quotes straightened, control characters removed. Valid UTF-8 in.
std::string ftfy_subset(const std::string& text);
// One pass of HTML entity decoding (named entities common in prompts, &#N; and &#xN;).
std::string html_unescape(const std::string& text);
// Throws Error(kInvalidArgument) naming the byte offset of the first invalid sequence.
void check_utf8(const std::string& text, const char* what);

}  // namespace mova
