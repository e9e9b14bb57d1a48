// Hugging Face `tokenizer.json` (the T5TokenizerFast form of a sentencepiece unigram model)
// converted back into a serialized sentencepiece ModelProto, so one tokenizer implementation
// serves folders that ship only tokenizer.json (the published MOVA folder may; see
// docs/upstream/generate.md §3). Only what a T5/UMT5 conversion produces is accepted: a
// Unigram model, a Precompiled (+ Replace) normalizer, a Metaspace pre-tokenizer.
#pragma once

#include <string>

namespace mova {

// Reads `path` and returns the bytes of an equivalent sentencepiece ModelProto. Pieces that
// are `special` added tokens become CONTROL, the unk id UNKNOWN, the rest NORMAL. Throws
// Error(kFormat) naming the file and the field that does not fit.
std::string tokenizer_json_to_sentencepiece(const std::string& path);
// The same on the file's contents; `origin` names it in errors.
std::string tokenizer_json_text_to_sentencepiece(const std::string& text,
                                                 const std::string& origin);

}  // namespace mova
