#include "text/umt5_tokenizer.h"

#include <sentencepiece_processor.h>

#include <filesystem>

#include "runtime/error.h"
#include "text/prompt_clean.h"
#include "text/tokenizer_json.h"

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
    const auto status = sp_->LoadFromSerializedProto(tokenizer_json_to_sentencepiece(json));
    MOVA_CHECK(status.ok(), ErrorKind::kFormat, json,
               ": cannot build a tokenizer from it: ", status.ToString());
  } else {
    path = spm;
    MOVA_CHECK(std::filesystem::is_regular_file(spm, ec), ErrorKind::kIo, dir,
               ": has neither tokenizer.json nor spiece.model");
    const auto status = sp_->Load(spm);
    MOVA_CHECK(status.ok(), ErrorKind::kFormat, spm,
               ": not a sentencepiece model: ", status.ToString());
  }
  MOVA_CHECK(sp_->eos_id() >= 0 && sp_->pad_id() >= 0, ErrorKind::kFormat, path,
             ": the model defines no </s> or <pad> id");
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

TokenizedPrompt Umt5Tokenizer::encode(const std::string& prompt, int64_t max_length) const {
  MOVA_CHECK(max_length >= 1, ErrorKind::kInvalidArgument, "max_length must be positive");
  const std::string text = clean_prompt(prompt);
  std::vector<int> pieces;
  const auto status = sp_->Encode(text, &pieces);
  MOVA_CHECK(status.ok(), ErrorKind::kInvalidArgument,
             "cannot tokenize prompt: ", status.ToString());
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
