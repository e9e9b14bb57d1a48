// Hugging Face `tokenizer.json` (the T5TokenizerFast form of a sentencepiece unigram model)
// read back into a serialized sentencepiece ModelProto plus what the model itself does not
// carry (added tokens, the Metaspace prepend scheme), so one tokenizer implementation serves
// folders that ship only tokenizer.json (the published MOVA folder may; see
// docs/upstream/generate.md §3). Only what a T5/UMT5 conversion produces is accepted: a
// Unigram model, a normalizer of Precompiled, Strip and Replace(" {2,}"), a Metaspace pre-tokenizer
// (alone, or after WhitespaceSplit as older conversions wrote it).
#pragma once

#include <string>
#include <vector>

#include "text/added_tokens.h"

namespace mova {

// One step of the normalizer after (or before) the charsmap, in the file's order.
struct NormalizerStep {
  enum Kind { kPrecompiled, kStripLeft, kStripRight, kCollapseSpaces } kind;
  std::string replacement;  // kCollapseSpaces: what a run of 2+ spaces becomes (" " or "▁")
};

// When Metaspace puts "▁" before a piece of text that does not start with a space: always, only
// at the start of the whole text, or never.
enum class PrependScheme { kAlways, kFirst, kNever };

struct TokenizerJson {
  std::string pieces_proto;  // ModelProto's pieces and trainer spec (no normalizer spec)
  std::string charsmap;      // the Precompiled normalizer's charsmap; "" for none
  std::vector<double>
      scores;  // the vocabulary's, as tokenizers keeps them (ModelProto's are float)
  std::vector<AddedToken> added_tokens;
  PrependScheme prepend = PrependScheme::kAlways;
  bool whitespace_split = false;  // WhitespaceSplit before Metaspace: spaces dropped
  bool metaspace_split = true;    // Metaspace cuts the text into words at each "▁"
  std::vector<NormalizerStep> normalizer;
};

// Reads `path`; throws Error(kFormat / kUnsupported) naming the file and the field that does not
// fit. Pieces that are `special` added tokens become CONTROL, the unk id UNKNOWN, the rest
// NORMAL. Added tokens get the ids tokenizers gives them (read_added_tokens in the .cc).
TokenizerJson read_tokenizer_json(const std::string& path);
// The same on the file's contents; `origin` names it in errors.
TokenizerJson parse_tokenizer_json(const std::string& text, const std::string& origin);

// The bytes of a sentencepiece ModelProto for `t`, with sentencepiece's own whitespace rules.
std::string sentencepiece_model(const TokenizerJson& t);
}  // namespace mova
