#include "text/tokenizer_json.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "io/atomic_file.h"
#include "io/base64.h"
#include "runtime/error.h"
#include "text/protobuf_wire.h"

namespace mova {
namespace {

using protobuf::put_bytes;
using protobuf::put_float;
using protobuf::put_uint;

// The normalizer: Precompiled, Strip and Replace(" {2,}" by " " or "▁"), alone or in a
// Sequence, as T5 conversions old and new write it; anything else is refused by name.
void read_normalizer(const nlohmann::json& n, const std::string& path, TokenizerJson& out) {
  if (n.is_null()) return;
  const std::string type = n.value("type", "");
  if (type == "Sequence") {
    for (const auto& c : n.at("normalizers")) read_normalizer(c, path, out);
  } else if (type == "Precompiled") {
    MOVA_CHECK(out.charsmap.empty(), ErrorKind::kUnsupported, path,
               ": a normalizer with two Precompiled charsmaps");
    const std::string charsmap = n.value("precompiled_charsmap", "");
    if (!charsmap.empty()) out.charsmap = base64_decode(charsmap, path + ": precompiled_charsmap");
    out.normalizer.push_back({NormalizerStep::kPrecompiled, ""});
  } else if (type == "Strip") {
    if (n.value("strip_left", false)) out.normalizer.push_back({NormalizerStep::kStripLeft, ""});
    if (n.value("strip_right", false)) out.normalizer.push_back({NormalizerStep::kStripRight, ""});
  } else if (type == "Replace" && n.contains("pattern") &&
             n["pattern"].value("Regex", "") == " {2,}" &&
             (n.value("content", "") == " " || n.value("content", "") == "\u2581")) {
    out.normalizer.push_back({NormalizerStep::kCollapseSpaces, n.value("content", "")});
  } else {
    fail(ErrorKind::kUnsupported, path, ": normalizer ", n.dump().substr(0, 200),
         " is not one a T5/UMT5 tokenizer has (Precompiled; Strip; Replace \" {2,}\" by \" \" or "
         "\"\u2581\")");
  }
}

// Metaspace's prepend scheme: `prepend_scheme`, or the older `add_prefix_space` flag.
PrependScheme prepend_scheme(const nlohmann::json& metaspace, const std::string& path) {
  MOVA_CHECK(metaspace.value("replacement", "\u2581") == "\u2581", ErrorKind::kUnsupported, path,
             ": Metaspace replacement \"", metaspace.value("replacement", ""),
             "\" is not \"\u2581\"");
  if (metaspace.contains("prepend_scheme")) {
    const std::string s = metaspace["prepend_scheme"].get<std::string>();
    if (s == "always") return PrependScheme::kAlways;
    if (s == "first") return PrependScheme::kFirst;
    if (s == "never") return PrependScheme::kNever;
    fail(ErrorKind::kUnsupported, path, ": Metaspace prepend_scheme \"", s, "\" is unknown");
  }
  return metaspace.value("add_prefix_space", true) ? PrependScheme::kAlways : PrependScheme::kNever;
}

void read_pre_tokenizer(const nlohmann::json& j, const std::string& path, TokenizerJson& out) {
  MOVA_CHECK(j.contains("pre_tokenizer") && j["pre_tokenizer"].is_object(), ErrorKind::kUnsupported,
             path, ": has no pre_tokenizer (a T5/UMT5 tokenizer.json has a Metaspace one)");
  const auto& pre = j["pre_tokenizer"];
  const std::string type = pre.value("type", "");
  if (type == "Metaspace") {
    out.prepend = prepend_scheme(pre, path);
    out.metaspace_split = pre.value("split", true);
    return;
  }
  const auto& list = pre.contains("pretokenizers") ? pre["pretokenizers"] : nlohmann::json();
  MOVA_CHECK(type == "Sequence" && list.is_array() && list.size() == 2 &&
                 list[0].value("type", "") == "WhitespaceSplit" &&
                 list[1].value("type", "") == "Metaspace",
             ErrorKind::kUnsupported, path, ": pre_tokenizer.type \"", type,
             "\" is not Metaspace, nor a Sequence of WhitespaceSplit and Metaspace");
  out.whitespace_split = true;
  out.prepend = prepend_scheme(list[1], path);
  out.metaspace_split = list[1].value("split", true);
  MOVA_CHECK(out.prepend == PrependScheme::kAlways, ErrorKind::kUnsupported, path,
             ": WhitespaceSplit before a Metaspace that does not always prepend");
}

// The added tokens, with the ids tokenizers gives them when it loads the file (it ignores the
// file's "id"): a token's piece in the vocabulary, else the next id past the vocabulary and
// the tokens added so far. `special_pieces` gets the vocabulary ids of special ones.
std::vector<AddedToken> read_added_tokens(const nlohmann::json& j, const std::string& path,
                                          const std::unordered_map<std::string, int64_t>& vocab,
                                          int64_t vocab_size, std::set<int64_t>& special_pieces) {
  std::vector<AddedToken> tokens;
  if (!j.contains("added_tokens") || j["added_tokens"].is_null()) return tokens;
  MOVA_CHECK(j["added_tokens"].is_array(), ErrorKind::kFormat, path,
             ": added_tokens is not a list");
  int64_t next_id = vocab_size;
  for (const auto& e : j["added_tokens"]) {
    MOVA_CHECK(e.is_object() && e.contains("content") && e["content"].is_string(),
               ErrorKind::kFormat, path, ": added_tokens[", tokens.size(),
               "] needs a string content");
    AddedToken t;
    t.content = e["content"].get<std::string>();
    const bool special = e.value("special", false);
    t.single_word = e.value("single_word", false);
    t.lstrip = e.value("lstrip", false);
    t.rstrip = e.value("rstrip", false);
    t.normalized = e.value("normalized", !special);
    if (t.content.empty() || std::any_of(tokens.begin(), tokens.end(), [&](const AddedToken& o) {
          return o.content == t.content;
        }))
      continue;
    if (const auto it = vocab.find(t.content); it != vocab.end()) {
      t.id = it->second;
      if (special) special_pieces.insert(t.id);
    } else {
      MOVA_CHECK(next_id < std::numeric_limits<int32_t>::max(), ErrorKind::kFormat, path,
                 ": too many added tokens");
      t.id = next_id++;
    }
    tokens.push_back(std::move(t));
  }
  return tokens;
}

}  // namespace

TokenizerJson read_tokenizer_json(const std::string& path) {
  return parse_tokenizer_json(read_text_file(path), path);
}

namespace {

TokenizerJson convert(const nlohmann::json& j, const std::string& path);

}  // namespace

TokenizerJson parse_tokenizer_json(const std::string& text, const std::string& path) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::kFormat, path, ": not valid JSON: ", e.what());
  }
  try {
    return convert(j, path);
  } catch (const nlohmann::json::exception& e) {  // a field of the wrong JSON type
    fail(ErrorKind::kFormat, path, ": unexpected structure: ", e.what());
  }
}

std::string sentencepiece_model(const TokenizerJson& t) {
  std::string normalizer;
  put_bytes(normalizer, 1, t.charsmap.empty() ? "identity" : "nmt_nfkc");
  if (!t.charsmap.empty()) put_bytes(normalizer, 2, t.charsmap);
  put_uint(normalizer, 3, 1);  // add_dummy_prefix
  put_uint(normalizer, 4, 1);  // remove_extra_whitespaces
  put_uint(normalizer, 5, 1);  // escape_whitespaces
  std::string proto = t.pieces_proto;
  put_bytes(proto, 3, normalizer);
  return proto;
}

namespace {

TokenizerJson convert(const nlohmann::json& j, const std::string& path) {
  MOVA_CHECK(j.is_object() && j.contains("model") && j["model"].is_object(), ErrorKind::kFormat,
             path, ": has no \"model\" object");
  const auto& model = j["model"];
  MOVA_CHECK(model.value("type", "") == "Unigram", ErrorKind::kUnsupported, path,
             ": model.type is \"", model.value("type", "?"),
             "\"; only Unigram (T5/UMT5 sentencepiece) tokenizers are supported");
  MOVA_CHECK(!model.value("byte_fallback", false), ErrorKind::kUnsupported, path,
             ": byte_fallback unigram models are not supported");
  MOVA_CHECK(model.contains("vocab") && model["vocab"].is_array() && !model["vocab"].empty(),
             ErrorKind::kFormat, path, ": model.vocab must be a non-empty list");
  MOVA_CHECK(model.contains("unk_id") && model["unk_id"].is_number_integer(), ErrorKind::kFormat,
             path, ": model.unk_id missing");
  const int64_t unk = model["unk_id"].get<int64_t>();
  const auto& vocab = model["vocab"];
  MOVA_CHECK(unk >= 0 && unk < static_cast<int64_t>(vocab.size()), ErrorKind::kFormat, path,
             ": model.unk_id ", unk, " is outside the vocab");
  TokenizerJson out;
  read_pre_tokenizer(j, path, out);
  std::unordered_map<std::string, int64_t> ids;
  std::vector<std::string> pieces(vocab.size());
  out.scores.resize(vocab.size());
  for (size_t i = 0; i < vocab.size(); ++i) {
    const auto& e = vocab[i];
    MOVA_CHECK(e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_number(),
               ErrorKind::kFormat, path, ": model.vocab[", i, "] is not [piece, score]");
    pieces[i] = e[0].get<std::string>();
    out.scores[i] = e[1].get<double>();
    ids[pieces[i]] = static_cast<int64_t>(i);  // the last of equal pieces, as tokenizers keeps
  }
  std::set<int64_t> special;
  out.added_tokens = read_added_tokens(j, path, ids, static_cast<int64_t>(vocab.size()), special);
  for (size_t i = 0; i < vocab.size(); ++i) {
    std::string piece;
    put_bytes(piece, 1, pieces[i]);
    constexpr double kMax = std::numeric_limits<float>::max();
    put_float(piece, 2, static_cast<float>(std::clamp(out.scores[i], -kMax, kMax)));
    const auto id = static_cast<int64_t>(i);
    put_uint(piece, 3, id == unk ? 2 : special.count(id) ? 3 : 1);  // UNKNOWN, CONTROL, NORMAL
    put_bytes(out.pieces_proto, 1, piece);
  }
  std::string trainer;
  put_uint(trainer, 3, 1);  // model_type UNIGRAM
  put_uint(trainer, 40, static_cast<uint64_t>(unk));
  put_bytes(out.pieces_proto, 2, trainer);

  read_normalizer(j.contains("normalizer") ? j["normalizer"] : nlohmann::json(), path, out);
  return out;
}

}  // namespace
}  // namespace mova
