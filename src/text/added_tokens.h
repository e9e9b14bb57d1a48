// Hugging Face's added tokens (`added_tokens` of tokenizer.json: `</s>`, `<pad>`, `<unk>`,
// `<extra_id_N>`...), which T5TokenizerFast finds in the text before its normalizer and model
// see it, so a prompt that spells `</s>` gets the EOS id, not the pieces `<`, `/`, `s`, `>`.
// The matching follows tokenizers' AddedVocabulary (checked against tokenizers 0.23.2 in
// tests/text/test_hf_tokenizer.cc): leftmost-longest, non-overlapping; a `single_word` token
// only between non-word characters (a rejected match still consumes its text); `lstrip` /
// `rstrip` take the whitespace beside the token into it (the search resumes at the token's own
// end). Tokens with `normalized: false` are
// found first, then the `normalized: true` ones in the text between (tokenizers finds the
// latter in the normalized text; here in the cleaned text, which differs only where NFKC
// changes a token's own characters or its neighbours).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mova {

struct AddedToken {
  std::string content;
  int64_t id = 0;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// A piece of the text: an added token (`token_id` >= 0) or text for the model (-1). `offset` is
// where `text` starts in the whole.
struct TextSpan {
  std::string_view text;
  size_t offset = 0;
  int64_t token_id = -1;
};

// Splits `text` at the added tokens; the spans cover `text` in order. Text spans are never
// empty; a token span is when its token lies inside whitespace the one before took (rstrip).
std::vector<TextSpan> split_added_tokens(std::string_view text,
                                         const std::vector<AddedToken>& tokens);

}  // namespace mova
