#include "text/umt5_tokenizer.h"

#include <sentencepiece_processor.h>

#include <filesystem>

#include "io/atomic_file.h"
#include "runtime/error.h"
#include "text/prompt_clean.h"
#include "text/protobuf_wire.h"
#include "text/unicode.h"

namespace mova {
namespace {

constexpr std::string_view kSpaceMark = "\u2581";  // Metaspace's stand-in for a space

}  // namespace

Umt5Tokenizer::Umt5Tokenizer(const std::string& dir)
    : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  // tokenizer.json first, as upstream's T5TokenizerFast reads it; spiece.model otherwise.
  const std::string json = (std::filesystem::path(dir) / "tokenizer.json").string();
  const std::string spm = (std::filesystem::path(dir) / "spiece.model").string();
  std::error_code ec;
  std::string path, model_proto, json_charsmap;
  std::vector<double> json_scores;
  if (std::filesystem::is_regular_file(json, ec)) {
    path = json;
    TokenizerJson t = read_tokenizer_json(json);
    model_proto = sentencepiece_model(t);
    json_charsmap = std::move(t.charsmap);
    json_scores = std::move(t.scores);
    added_tokens_ = std::move(t.added_tokens);
    prepend_ = t.prepend;
    whitespace_split_ = t.whitespace_split;
    metaspace_split_ = t.metaspace_split;
    normalizer_ = std::move(t.normalizer);
  } else {
    path = spm;
    MOVA_CHECK(std::filesystem::is_regular_file(spm, ec), ErrorKind::kIo, dir,
               ": has neither tokenizer.json nor spiece.model");
    model_proto = read_text_file(spm);
  }
  const auto status = sp_->LoadFromSerializedProto(model_proto);
  MOVA_CHECK(status.ok(), ErrorKind::kFormat, path,
             path == spm ? ": not a sentencepiece model: " : ": cannot build a tokenizer from it: ",
             status.ToString());
  std::string charsmap;
  if (path == json) {
    charsmap = std::move(json_charsmap);
  } else if (const auto spec = protobuf::last_bytes_field(model_proto, 3, spm)) {
    // NormalizerSpec.precompiled_charsmap
    charsmap = std::string(protobuf::last_bytes_field(*spec, 2, spm).value_or(""));
  }
  charsmap_ = std::make_unique<PrecompiledCharsmap>(std::move(charsmap), path);
  if (path == spm) {
    // What transformers' converter makes of the model: its control and unknown pieces become
    // added tokens; Metaspace always prepends (T5's legacy default) and splits; Replace
    // collapses spaces.
    for (int id = 0; id < sp_->GetPieceSize(); ++id)
      if (sp_->IsControl(id) || sp_->IsUnknown(id))
        added_tokens_.push_back({.content = sp_->IdToPiece(id), .id = id});
  }
  source_ = std::filesystem::path(path).filename().string();
  MOVA_CHECK(sp_->eos_id() >= 0 && sp_->pad_id() >= 0, ErrorKind::kFormat, path,
             ": the model defines no </s> or <pad> id");
  std::vector<UnigramModel::Piece> pieces(sp_->GetPieceSize());
  for (int id = 0; id < sp_->GetPieceSize(); ++id)  // tokenizer.json's scores in double
    pieces[id] = {sp_->IdToPiece(id), path == json ? json_scores[id] : sp_->GetScore(id)};
  unigram_ = std::make_unique<UnigramModel>(std::move(pieces), sp_->unk_id());
}

Umt5Tokenizer::~Umt5Tokenizer() = default;

int64_t Umt5Tokenizer::pad_id() const {
  return sp_->pad_id();
}
int64_t Umt5Tokenizer::eos_id() const {
  return sp_->eos_id();
}
std::string Umt5Tokenizer::pipeline() const {
  std::string out;
  for (const NormalizerStep& step : normalizer_) {
    out += step.kind == NormalizerStep::kPrecompiled  ? "charsmap"
           : step.kind == NormalizerStep::kStripLeft  ? "strip-left"
           : step.kind == NormalizerStep::kStripRight ? "strip-right"
           : step.replacement == " "                  ? "collapse-spaces"
                                                      : "spaces-to-\u2581";
    out += ", ";
  }
  if (whitespace_split_) out += "whitespace-split, ";
  out += prepend_ == PrependScheme::kAlways  ? "metaspace prepend=always"
         : prepend_ == PrependScheme::kFirst ? "metaspace prepend=first"
                                             : "metaspace prepend=never";
  return out + ", unigram";
}

int64_t Umt5Tokenizer::vocab_size() const {
  return sp_->GetPieceSize();
}

// One piece of text between added tokens, as tokenizers runs it: the normalizer's steps (the
// charsmap, stripping, runs of spaces collapsed), Metaspace (spaces to "▁"; "▁" in front when the
// prepend scheme says so and the text does not start with one; words cut before each "▁"), then the
// Unigram model per word.
void Umt5Tokenizer::append_text(const TextSpan& span, std::vector<int>& ids) const {
  std::string normalized(span.text);
  // How many leading bytes stem from the text's first character: tokenizers' prepend "first"
  // asks whether the normalized text still starts at the original text's start.
  size_t from_first = normalized.empty() ? 0 : char_at(normalized, 0).bytes;
  for (const NormalizerStep& step : normalizer_) {
    switch (step.kind) {
      case NormalizerStep::kPrecompiled: {
        size_t mapped_first = 0;
        normalized = charsmap_->normalize(normalized, &mapped_first);
        if (from_first > 0) from_first = mapped_first;
        break;
      }
      case NormalizerStep::kStripLeft: {
        size_t start = 0;
        for (DecodedChar c; is_white_space((c = char_at(normalized, start)).cp) && c.bytes > 0;)
          start += c.bytes;
        normalized.erase(0, start);
        from_first = from_first > start ? from_first - start : 0;
        break;
      }
      case NormalizerStep::kStripRight: {
        size_t end = normalized.size();
        for (DecodedChar c; (c = char_before(normalized, end)).bytes > 0 && is_white_space(c.cp);)
          end -= c.bytes;
        normalized.resize(end);
        from_first = std::min(from_first, end);
        break;
      }
      case NormalizerStep::kCollapseSpaces: {
        std::string collapsed;
        for (size_t i = 0; i < normalized.size();) {
          if (normalized[i] != ' ') {
            collapsed += normalized[i++];
            continue;
          }
          const size_t end = std::min(normalized.find_first_not_of(' ', i), normalized.size());
          collapsed += end - i >= 2 ? step.replacement : std::string(" ");
          i = end;
        }
        // A run at the start becomes one replacement standing for the first character.
        if (from_first > 0 && normalized.starts_with("  ")) from_first = step.replacement.size();
        normalized = std::move(collapsed);
        break;
      }
    }
  }
  std::string text;  // Metaspace: every space a "▁"
  for (const char c : normalized) {
    if (c == ' ')
      text += kSpaceMark;
    else
      text += c;
  }
  if (whitespace_split_) {  // each run of non-spaces, "▁" put in front
    std::string words;
    for (size_t start = 0; start < text.size();) {
      const size_t next = std::min(text.find(kSpaceMark, start), text.size());
      if (next > start) words.append(kSpaceMark).append(text, start, next - start);
      start = next == text.size() ? next : next + kSpaceMark.size();
    }
    text = std::move(words);
  } else {
    const bool prepend = prepend_ == PrependScheme::kAlways ||
                         (prepend_ == PrependScheme::kFirst && span.offset == 0 && from_first > 0);
    if (prepend && !text.empty() && !text.starts_with(kSpaceMark)) text.insert(0, kSpaceMark);
  }
  if (!metaspace_split_ && !whitespace_split_) {
    unigram_->encode(text, ids);
    return;
  }
  for (size_t start = 0; start < text.size();) {
    const size_t stop = std::min(text.find(kSpaceMark, start + 1), text.size());
    unigram_->encode(std::string_view(text).substr(start, stop - start), ids);
    start = stop;
  }
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
