#include "text/umt5_tokenizer.h"

#include <sentencepiece_processor.h>

#include <filesystem>

#include "runtime/error.h"
#include "text/prompt_clean.h"

namespace mova {

Umt5Tokenizer::Umt5Tokenizer(const std::string& dir)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  // tokenizer.json first, as upstream's T5TokenizerFast reads it; spiece.model otherwise.
  const std::string json = (std::filesystem::path(dir) / "tokenizer.json").string();
  const std::string spm = (std::filesystem::path(dir) / "spiece.model").string();
  std::error_code ec;
  std::string path;
  if (std::filesystem::is_regular_file(json, ec)) {
    path = json;
    TokenizerJson t = read_tokenizer_json(json);
    const auto status = sp_->LoadFromSerializedProto(sentencepiece_model(t, true));
    MOVA_CHECK(status.ok(), ErrorKind::kFormat, json,
               ": cannot build a tokenizer from it: ", status.ToString());
    if (t.prepend != PrependScheme::kAlways && !t.whitespace_split) {
      sp_verbatim_ = std::make_unique<sentencepiece::SentencePieceProcessor>();
      const auto verbatim = sp_verbatim_->LoadFromSerializedProto(sentencepiece_model(t, false));
      MOVA_CHECK(verbatim.ok(), ErrorKind::kFormat, json,
                 ": cannot build a tokenizer from it: ", verbatim.ToString());
    }
    added_tokens_ = std::move(t.added_tokens);
    prepend_ = t.prepend;
    whitespace_split_ = t.whitespace_split;
  } else {
    path = spm;
    MOVA_CHECK(std::filesystem::is_regular_file(spm, ec), ErrorKind::kIo, dir,
               ": has neither tokenizer.json nor spiece.model");
    const auto status = sp_->Load(spm);
    MOVA_CHECK(status.ok(), ErrorKind::kFormat, spm,
               ": not a sentencepiece model: ", status.ToString());
    // What transformers' converter makes of the model: its control and unknown pieces become
    // added tokens, and Metaspace always prepends (T5's legacy default).
    for (int id = 0; id < sp_->GetPieceSize(); ++id)
      if (sp_->IsControl(id) || sp_->IsUnknown(id))
        added_tokens_.push_back({.content = sp_->IdToPiece(id), .id = id});
  }
  MOVA_CHECK(sp_->eos_id() >= 0 && sp_->pad_id() >= 0, ErrorKind::kFormat, path,
             ": the model defines no </s> or <pad> id");
  space_id_ = sp_->PieceToId("\u2581");
}

Umt5Tokenizer::~Umt5Tokenizer() = default;

int64_t Umt5Tokenizer::pad_id() const {
  return sp_->pad_id();
}
int64_t Umt5Tokenizer::eos_id() const {
  return sp_->eos_id();
}
int64_t Umt5Tokenizer::vocab_size() const {
  return sp_->GetPieceSize();
}

// Metaspace on one piece of text between added tokens: its spaces become "▁", and "▁" goes in
// front when the prepend scheme says so and the text does not start with a space.
void Umt5Tokenizer::append_text(const TextSpan& span, std::vector<int>& ids) const {
  const std::string text(span.text);
  const bool prepend =
      prepend_ == PrependScheme::kAlways || (prepend_ == PrependScheme::kFirst && span.offset == 0);
  std::vector<int> pieces;
  const bool verbatim = !whitespace_split_ && !prepend && text.front() != ' ';
  const auto status = (verbatim ? *sp_verbatim_ : *sp_).Encode(text, &pieces);
  MOVA_CHECK(status.ok(), ErrorKind::kInvalidArgument,
             "cannot tokenize prompt: ", status.ToString());
  ids.insert(ids.end(), pieces.begin(), pieces.end());
  // sp_ drops a space at the end; Metaspace keeps it as a piece of its own (WhitespaceSplit
  // drops it too).
  if (!verbatim && !whitespace_split_ && text.back() == ' ') ids.push_back(space_id_);
}

TokenizedPrompt Umt5Tokenizer::encode(const std::string& prompt, int64_t max_length) const {
  MOVA_CHECK(max_length >= 1, ErrorKind::kInvalidArgument, "max_length must be positive");
  const std::string text = clean_prompt(prompt);
  std::vector<int> pieces;
  for (const TextSpan& span : split_added_tokens(text, added_tokens_)) {
    if (span.token_id >= 0)
      pieces.push_back(static_cast<int>(span.token_id));
    else
      append_text(span, pieces);
  }
  TokenizedPrompt t;
  const int64_t keep = std::min<int64_t>(static_cast<int64_t>(pieces.size()), max_length - 1);
  t.ids.assign(pieces.begin(), pieces.begin() + keep);
  t.ids.push_back(eos_id());
  t.length = static_cast<int64_t>(t.ids.size());
  t.mask.assign(t.length, 1);
  t.ids.resize(max_length, pad_id());
  t.mask.resize(max_length, 0);
  return t;
}

}  // namespace mova
