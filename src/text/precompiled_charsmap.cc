#include "text/precompiled_charsmap.h"

#include <cstring>

#include "runtime/error.h"
#include "text/graphemes.h"
#include "text/unicode.h"

namespace mova {

PrecompiledCharsmap::PrecompiledCharsmap(std::string blob, const std::string& origin)
    : blob_(std::move(blob)), origin_(origin) {
  if (blob_.empty()) return;
  uint32_t trie_bytes = 0;
  MOVA_CHECK(blob_.size() > 4, ErrorKind::kFormat, origin_, ": precompiled charsmap of ",
             blob_.size(), " bytes is too short");
  for (int i = 0; i < 4; ++i)
    trie_bytes |= static_cast<uint32_t>(static_cast<uint8_t>(blob_[i])) << (8 * i);
  MOVA_CHECK(trie_bytes < blob_.size() - 4 && trie_bytes % 4 == 0 && trie_bytes > 0,
             ErrorKind::kFormat, origin_, ": precompiled charsmap: a trie of ", trie_bytes,
             " bytes does not fit its ", blob_.size(), " bytes");
  trie_ = std::string_view(blob_).substr(4, trie_bytes);
  normalized_ = std::string_view(blob_).substr(4 + trie_bytes);
}

uint32_t PrecompiledCharsmap::unit(uint32_t pos) const {
  MOVA_CHECK(pos < trie_.size() / 4, ErrorKind::kFormat, origin_,
             ": precompiled charsmap: the trie points past its end");
  uint32_t u;
  std::memcpy(&u, trie_.data() + 4 * static_cast<size_t>(pos), 4);  // little-endian hosts
  return u;
}

// darts-clone's commonPrefixSearch, stopped at its first result.
std::optional<std::string_view> PrecompiledCharsmap::transform(std::string_view chunk) const {
  if (trie_.empty()) return std::nullopt;
  const auto offset = [](uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); };
  uint32_t pos = offset(unit(0));
  for (const char ch : chunk) {
    const auto byte = static_cast<uint8_t>(ch);
    pos ^= byte;
    const uint32_t u = unit(pos);
    if ((u & ((1u << 31) | 0xff)) != byte) return std::nullopt;  // label
    pos ^= offset(u);
    if ((u >> 8) & 1) {  // has a leaf: the value is an offset into the strings
      const uint32_t value = unit(pos) & ((1u << 31) - 1);
      MOVA_CHECK(value < normalized_.size(), ErrorKind::kFormat, origin_,
                 ": precompiled charsmap: a string offset past its end");
      const std::string_view rest = normalized_.substr(value);
      const size_t end = rest.find('\0');
      MOVA_CHECK(end != std::string_view::npos, ErrorKind::kFormat, origin_,
                 ": precompiled charsmap: an unterminated string");
      return rest.substr(0, end);
    }
  }
  return std::nullopt;
}

std::string PrecompiledCharsmap::normalize(std::string_view text, size_t* from_first) const {
  if (from_first != nullptr) *from_first = text.empty() ? 0 : char_at(text, 0).bytes;
  if (trie_.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = grapheme_end(text, pos);
    const std::string_view grapheme = text.substr(pos, end - pos);
    const bool first = pos == 0;
    pos = end;
    if (grapheme.size() < 6) {
      if (const auto mapped = transform(grapheme)) {
        out += *mapped;
        if (first && from_first != nullptr) *from_first = out.size();
        continue;
      }
    }
    for (size_t i = 0; i < grapheme.size();) {
      const size_t len = char_at(grapheme, i).bytes;
      const std::string_view ch = grapheme.substr(i, len);
      const auto mapped = transform(ch);
      out += mapped ? *mapped : ch;
      if (first && i == 0 && from_first != nullptr) *from_first = out.size();
      i += len;
    }
  }
  return out;
}

}  // namespace mova
