#include "io/base64.h"

#include <cstdint>

#include "runtime/error.h"

namespace mova {

namespace {

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

std::string base64_decode(std::string_view in, const std::string& what) {
  size_t end = in.size();
  while (end > 0 && in[end - 1] == '=' && in.size() - end < 2) --end;
  const size_t padding = in.size() - end;
  MOVA_CHECK(padding == 0 || in.size() % 4 == 0, ErrorKind::kFormat, what,
             ": invalid base64 (padding must complete a group of four characters)");
  MOVA_CHECK(end % 4 != 1, ErrorKind::kFormat, what, ": invalid base64 (truncated: ", end,
             " characters leave a lone 6-bit group)");
  std::string out;
  out.reserve(end / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < end; ++i) {
    const int v = sextet(in[i]);
    MOVA_CHECK(v >= 0, ErrorKind::kFormat, what, ": invalid base64 (",
               in[i] == '=' ? "padding before the end" : "a character outside the alphabet",
               " at offset ", i, ")");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

}  // namespace mova
