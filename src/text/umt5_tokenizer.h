// The UMT5 tokenizer from the checkpoint's tokenizer/ folder (tokenizer.json or spiece.model),
// as upstream's T5TokenizerFast: the cleaned prompt (text/prompt_clean.h) split at the added
// tokens (text/added_tokens.h), the text between them normalized by the model's charsmap
// (text/precompiled_charsmap.h), cut into words by Metaspace's rules and each split by tokenizers'
// Unigram search (text/unigram.h), truncated to max_length−1, then EOS, then padding to max_length;
// the mask is 1 on real tokens including EOS. No BOS. Special ids come from the model file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "text/precompiled_charsmap.h"
#include "text/tokenizer_json.h"
#include "text/unigram.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace mova {

struct TokenizedPrompt {
  std::vector<int64_t> ids;
  std::vector<int64_t> mask;
  int64_t length = 0;  // real tokens, EOS included
};

class Umt5Tokenizer {
 public:
  // Loads `tokenizer_dir`/tokenizer.json (converted, text/tokenizer_json.h) or else
  // spiece.model; throws naming the file when absent or invalid.
  explicit Umt5Tokenizer(const std::string& tokenizer_dir);
  ~Umt5Tokenizer();

  TokenizedPrompt encode(const std::string& prompt, int64_t max_length = 512) const;
  int64_t pad_id() const;
  int64_t eos_id() const;
  int64_t vocab_size() const;
  // What `mova info` shows: the file read, the added tokens, the normalizer's steps and
  // Metaspace's prepend scheme.
  std::string source() const { return source_; }
  int64_t added_token_count() const { return static_cast<int64_t>(added_tokens_.size()); }
  std::string pipeline() const;

 private:
  void append_text(const TextSpan& span, std::vector<int>& ids) const;

  // The model's pieces, scores and special ids (its encoder is not used).
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::unique_ptr<PrecompiledCharsmap> charsmap_;
  std::unique_ptr<UnigramModel> unigram_;
  std::string source_;  // "tokenizer.json" or "spiece.model"
  std::vector<AddedToken> added_tokens_;
  PrependScheme prepend_ = PrependScheme::kAlways;
  bool whitespace_split_ = false;
  bool metaspace_split_ = true;
  // A spiece.model alone: the charsmap, then runs of spaces collapsed (T5's conversion).
  std::vector<NormalizerStep> normalizer_ = {{NormalizerStep::kPrecompiled, ""},
                                             {NormalizerStep::kCollapseSpaces, " "}};
};

}  // namespace mova
