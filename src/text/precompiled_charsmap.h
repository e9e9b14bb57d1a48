// The normalizer of a sentencepiece model (its precompiled charsmap: a double-array trie of
// UTF-8 keys and the strings they map to), applied as Hugging Face's tokenizers applies it
// (`normalizers::Precompiled`), which is not how sentencepiece does: grapheme cluster by
// cluster, a cluster under 6 bytes replaced whole by the first (shortest) key that prefixes it
// (Ⅳ + U+0301 → IV, the accent gone), other clusters and those no key prefixes character by
// character (so カ + U+3099 stays two characters where sentencepiece's longest match composes
// ガ). Upstream's T5TokenizerFast normalizes this way.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mova {

class PrecompiledCharsmap {
 public:
  // `blob`: the bytes of the charsmap (sentencepiece's NormalizerSpec.precompiled_charsmap, or
  // the base64-decoded `precompiled_charsmap` of tokenizer.json); empty maps nothing. Throws
  // Error(kFormat) naming `origin` when it is malformed.
  PrecompiledCharsmap(std::string blob, const std::string& origin);

  // `from_first` (optional): how many of the leading bytes of the result come from text's first
  // character (its whole cluster when that is replaced whole), for Metaspace's prepend "first".
  std::string normalize(std::string_view text, size_t* from_first = nullptr) const;

 private:
  // What the shortest key prefixing `chunk` maps to; nullopt when none does.
  std::optional<std::string_view> transform(std::string_view chunk) const;
  uint32_t unit(uint32_t pos) const;

  std::string blob_;
  std::string_view trie_;        // uint32 little-endian units
  std::string_view normalized_;  // NUL-terminated strings
  std::string origin_;
};

}  // namespace mova
