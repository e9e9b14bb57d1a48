#include "text/tokenizer_json.h"

#include <cstdint>
#include <cstring>
#include <nlohmann/json.hpp>
#include <set>

#include "io/atomic_file.h"
#include "io/base64.h"
#include "runtime/error.h"

namespace mova {
namespace {

// The few protobuf wire-format pieces a ModelProto needs.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void put_tag(std::string& out, int field, int wire) {
  put_varint(out, (field << 3) | wire);
}
void put_bytes(std::string& out, int field, const std::string& bytes) {
  put_tag(out, field, 2);
  put_varint(out, bytes.size());
  out += bytes;
}
void put_uint(std::string& out, int field, uint64_t v) {
  put_tag(out, field, 0);
  put_varint(out, v);
}
void put_float(std::string& out, int field, float f) {
  put_tag(out, field, 5);
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((bits >> (8 * i)) & 0xff));
}

// The Precompiled normalizer's charsmap, directly or inside a Sequence; "" if none.
std::string find_charsmap(const nlohmann::json& n) {
  if (!n.is_object()) return {};
  if (n.value("type", "") == "Precompiled") return n.value("precompiled_charsmap", "");
  if (n.value("type", "") == "Sequence" && n.contains("normalizers"))
    for (const auto& c : n["normalizers"])
      if (auto s = find_charsmap(c); !s.empty()) return s;
  return {};
}

}  // namespace

std::string tokenizer_json_to_sentencepiece(const std::string& path) {
  return tokenizer_json_text_to_sentencepiece(read_text_file(path), path);
}

namespace {

std::string convert(const nlohmann::json& j, const std::string& path);

}  // namespace

std::string tokenizer_json_text_to_sentencepiece(const std::string& text, const std::string& path) {
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

namespace {

std::string convert(const nlohmann::json& j, const std::string& path) {
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
  const auto& pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"] : nlohmann::json();
  MOVA_CHECK(
      pre.is_null() || pre.value("type", "") == "Metaspace" || pre.value("type", "") == "Sequence",
      ErrorKind::kUnsupported, path, ": pre_tokenizer.type \"", pre.value("type", "?"),
      "\" is not Metaspace");

  std::set<int64_t> special;
  if (j.contains("added_tokens") && j["added_tokens"].is_array())
    for (const auto& t : j["added_tokens"])
      if (t.value("special", false) && t.contains("id")) special.insert(t["id"].get<int64_t>());

  std::string proto;
  for (size_t i = 0; i < vocab.size(); ++i) {
    const auto& e = vocab[i];
    MOVA_CHECK(e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_number(),
               ErrorKind::kFormat, path, ": model.vocab[", i, "] is not [piece, score]");
    std::string piece;
    put_bytes(piece, 1, e[0].get<std::string>());
    put_float(piece, 2, e[1].get<float>());
    const int64_t id = static_cast<int64_t>(i);
    put_uint(piece, 3, id == unk ? 2 : special.count(id) ? 3 : 1);  // UNKNOWN, CONTROL, NORMAL
    put_bytes(proto, 1, piece);
  }
  std::string trainer;
  put_uint(trainer, 3, 1);  // model_type UNIGRAM
  put_uint(trainer, 40, static_cast<uint64_t>(unk));
  put_bytes(proto, 2, trainer);

  std::string normalizer;
  const std::string charsmap =
      find_charsmap(j.contains("normalizer") ? j["normalizer"] : nlohmann::json());
  put_bytes(normalizer, 1, charsmap.empty() ? "identity" : "nmt_nfkc");
  if (!charsmap.empty())
    put_bytes(normalizer, 2, base64_decode(charsmap, path + ": precompiled_charsmap"));
  put_uint(normalizer, 3, 1);  // add_dummy_prefix (Metaspace prepends "▁")
  put_uint(normalizer, 4, 1);  // remove_extra_whitespaces (the Replace " {2,}" step)
  put_uint(normalizer, 5, 1);  // escape_whitespaces
  put_bytes(proto, 3, normalizer);
  return proto;
}

}  // namespace
}  // namespace mova
