// Feeds arbitrary bytes to the prompt cleaning that every prompt goes through (a server takes
// prompts from the network): ftfy's steps and Python's html.unescape over a UTF-8 decoder.
// Any input must be cleaned or refused with mova::Error; crashes, UB, invalid UTF-8 out and
// non-idempotent whitespace are findings.
#include <cstddef>
#include <cstdint>
#include <string>

#include "runtime/error.h"
#include "text/prompt_clean.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // cleaning is quadratic in nested escapes by design (ftfy's rounds)
  const std::string prompt(reinterpret_cast<const char*>(data), size);
  std::string cleaned;
  try {
    cleaned = mova::clean_prompt(prompt);
  } catch (const mova::Error&) {
    return 0;
  }
  mova::check_utf8(cleaned, "cleaned prompt");  // throws (a finding) on invalid UTF-8
  if (!cleaned.empty() && (cleaned.front() == ' ' || cleaned.back() == ' ')) __builtin_trap();
  if (cleaned.find("  ") != std::string::npos) __builtin_trap();
  return 0;
}
