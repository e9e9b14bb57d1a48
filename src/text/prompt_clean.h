// Prompt normalisation before tokenizing, as upstream's prompt_clean: ftfy.fix_text, HTML
// unescape twice, whitespace runs collapsed to one space, trimmed.
//
// ftfy is not reproduced: its mojibake repair has no C++ equivalent. We apply the parts that
// change typical prompts — NFC-irrelevant ASCII is untouched, curly quotes become straight
// quotes — and document the gap (docs/status.md). Invalid UTF-8 is an error.
#pragma once

#include <string>

namespace mova {

std::string clean_prompt(const std::string& prompt);
// One pass of HTML entity decoding (named entities common in prompts, &#N; and &#xN;).
std::string html_unescape(const std::string& text);
// Throws Error(kInvalidArgument) naming the byte offset of the first invalid sequence.
void check_utf8(const std::string& text, const char* what);

}  // namespace mova
