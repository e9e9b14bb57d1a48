// The tokenizer against Hugging Face's own: tests/data/hf_tokenizer_ids.json holds the ids that
// the tokenizers library (0.23.2, what transformers' T5TokenizerFast runs) gives prompts that
// spell special tokens, under the bundled nano tokenizer.json and variants of it (prepend
// schemes, the older WhitespaceSplit form, added tokens with lstrip / rstrip / single_word /
// normalized), and the 64 prompts of prompts.json. Regenerate with
// tools/reference/hf_tokenizer_ids.py. Ids must match exactly, except for the fixture's
// known_differences, which must still differ (so that a fix removes them from the list).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "python_reference.h"
#include "test_util.h"
#include "text/added_tokens.h"
#include "text/graphemes.h"
#include "text/umt5_tokenizer.h"
#include "text/unigram.h"

namespace mova {
namespace {

nlohmann::json read_json(const std::string& relative_path) {
  nlohmann::json j;
  std::ifstream(std::string(MOVA_SOURCE_DIR) + "/" + relative_path) >> j;
  return j;
}

std::vector<int64_t> real_ids(const TokenizedPrompt& t) {
  return {t.ids.begin(), t.ids.begin() + t.length};
}

// Every variant of a fixture through Umt5Tokenizer: `make_folder` writes the tokenizer folder
// for a variant (given the variant and the fixture's tokenizer file).
void expect_fixture_ids(
    const std::string& fixture_file,
    const std::function<void(const nlohmann::json& variant, const std::string& tokenizer,
                             const std::string& folder)>& make_folder) {
  const nlohmann::json fixture = read_json(fixture_file);
  for (const auto& variant : fixture["variants"]) {
    const std::string name = variant["name"].get<std::string>();
    const test::TempDir dir;
    make_folder(variant,
                std::string(MOVA_SOURCE_DIR) + "/" + fixture["tokenizer"].get<std::string>(),
                dir.str());
    const Umt5Tokenizer tokenizer(dir.str());
    const nlohmann::json prompts = !variant.contains("prompts") ? fixture["prompts"]
                                   : variant["prompts"].is_string()
                                       ? read_json(variant["prompts"].get<std::string>())
                                       : variant["prompts"];
    ASSERT_EQ(prompts.size(), variant["ids"].size()) << name;
    for (size_t i = 0; i < prompts.size(); ++i) {
      const std::string prompt = prompts[i].get<std::string>();
      const auto ids = real_ids(tokenizer.encode(prompt));
      const auto expected = variant["ids"][i].get<std::vector<int64_t>>();
      const bool known = std::any_of(
          fixture["known_differences"].begin(), fixture["known_differences"].end(),
          [&](const nlohmann::json& d) {
            return d["variant"] == name &&
                   std::find(d["prompts"].begin(), d["prompts"].end(), i) != d["prompts"].end();
          });
      if (known)
        EXPECT_NE(ids, expected) << name << ", prompt " << i << " now matches: drop it from "
                                 << "known_differences";
      else
        EXPECT_EQ(ids, expected) << fixture_file << ": " << name << ", prompt " << i << ": "
                                 << prompt.substr(0, 60);
    }
  }
}

// The nano tokenizer.json and its variants.
TEST(HfTokenizer, IdsMatchTheTokenizersLibrary) {
  ASSERT_GE(read_json("tests/data/hf_tokenizer_ids.json")["variants"].size(), 11u);
  expect_fixture_ids(
      "tests/data/hf_tokenizer_ids.json",
      [](const nlohmann::json& variant, const std::string& tokenizer, const std::string& folder) {
        nlohmann::json tok;
        std::ifstream(tokenizer) >> tok;
        if (variant.contains("pre_tokenizer")) tok["pre_tokenizer"] = variant["pre_tokenizer"];
        if (variant.contains("normalizer_after_precompiled")) {
          nlohmann::json steps = {tok["normalizer"]["normalizers"][0]};
          for (const auto& step : variant["normalizer_after_precompiled"]) steps.push_back(step);
          tok["normalizer"] = {{"type", "Sequence"}, {"normalizers", steps}};
        }
        if (variant.contains("extra_added_tokens"))
          for (const auto& t : variant["extra_added_tokens"]) tok["added_tokens"].push_back(t);
        write_text_file(folder + "/tokenizer.json", tok.dump());
      });
}

// A 16,000-piece multilingual model: sentence pieces, repeated characters whose splits tie,
// unknown runs, compatibility characters. From its spiece.model alone, and from the
// tokenizer.json that spm_to_tokenizer_json.py makes of it.
TEST(HfTokenizer, MultilingualUnigramMatchesTheTokenizersLibrary) {
  ASSERT_GE(read_json("tests/data/hf_unigram_ids.json")["prompts"].size(), 800u);
  expect_fixture_ids(
      "tests/data/hf_unigram_ids.json",
      [](const nlohmann::json&, const std::string& model, const std::string& folder) {
        std::filesystem::copy_file(model, folder + "/spiece.model");
      });
  if (!test::reference_python_available()) GTEST_SKIP() << "no reference Python: tokenizer.json";
  expect_fixture_ids(
      "tests/data/hf_unigram_ids.json",
      [](const nlohmann::json&, const std::string& model, const std::string& folder) {
        ASSERT_TRUE(test::run_reference("tools/reference/spm_to_tokenizer_json.py",
                                        model + " " + folder + "/tokenizer.json"));
      });
}

// A folder with only spiece.model: its control and unknown pieces are the added tokens, and
// Metaspace always prepends, as transformers' converter makes of it.
TEST(HfTokenizer, SpieceModelFolderSplitsItsControlPieces) {
  const nlohmann::json fixture = read_json("tests/data/hf_tokenizer_ids.json");
  const test::TempDir dir;
  std::filesystem::copy_file(std::string(MOVA_SOURCE_DIR) + "/models/nano/tokenizer/spiece.model",
                             dir.file("spiece.model"));
  const Umt5Tokenizer tokenizer(dir.str());
  const auto& variant = fixture["variants"][0];
  ASSERT_FALSE(variant.contains("pre_tokenizer") || variant.contains("extra_added_tokens"));
  for (size_t i = 0; i < fixture["prompts"].size(); ++i)
    EXPECT_EQ(real_ids(tokenizer.encode(fixture["prompts"][i].get<std::string>())),
              variant["ids"][i].get<std::vector<int64_t>>())
        << "prompt " << i;
}

std::vector<std::pair<std::string, int64_t>> split(std::string_view text,
                                                   const std::vector<AddedToken>& tokens) {
  std::vector<std::pair<std::string, int64_t>> out;
  size_t covered = 0;
  for (const TextSpan& s : split_added_tokens(text, tokens)) {
    EXPECT_EQ(s.offset, covered);
    EXPECT_TRUE(!s.text.empty() || s.token_id >= 0);
    covered += s.text.size();
    out.emplace_back(std::string(s.text), s.token_id);
  }
  EXPECT_EQ(covered, text.size());
  return out;
}

TEST(AddedTokens, LeftmostLongestAndStripping) {
  using P = std::vector<std::pair<std::string, int64_t>>;
  const std::vector<AddedToken> tokens = {{.content = "ab", .id = 1},
                                          {.content = "abc", .id = 2},
                                          {.content = "bcd", .id = 3},
                                          {.content = "<r>", .id = 4, .rstrip = true},
                                          {.content = "<l>", .id = 5, .lstrip = true},
                                          {.content = "w", .id = 6, .single_word = true},
                                          {.content = "N", .id = 7, .normalized = true}};
  EXPECT_EQ(split("xabcd", tokens), (P{{"x", -1}, {"abc", 2}, {"d", -1}}));
  EXPECT_EQ(split("abbcd", tokens), (P{{"ab", 1}, {"bcd", 3}}));
  EXPECT_EQ(split("<r>  x <l>", tokens), (P{{"<r>  ", 4}, {"x", -1}, {" <l>", 5}}));
  // lstrip stops at the previous token's end.
  EXPECT_EQ(split("<r> <l>", tokens), (P{{"<r> ", 4}, {"<l>", 5}}));
  EXPECT_EQ(split("a w b", tokens), (P{{"a ", -1}, {"w", 6}, {" b", -1}}));
  EXPECT_EQ(split("aw w_", tokens), (P{{"aw w_", -1}}));
  // A normalized token is only looked for between the others.
  EXPECT_EQ(split("aNab", tokens), (P{{"a", -1}, {"N", 7}, {"ab", 1}}));
  EXPECT_EQ(split("", tokens), P{});
  // After an rstrip token the search resumes at its end: " <b>" is found in the space it took.
  const std::vector<AddedToken> spaced = {{.content = "<a>", .id = 1, .rstrip = true},
                                          {.content = " <b>", .id = 2}};
  EXPECT_EQ(split("<a> <b>x", spaced), (P{{"<a> ", 1}, {"<b>", 2}, {"x", -1}}));
  EXPECT_EQ(
      split("<a>  ", {{.content = "<a>", .id = 1, .rstrip = true}, {.content = " ", .id = 3}}),
      (P{{"<a>  ", 1}, {"", 3}, {"", 3}}));  // as tokenizers 0.23.2 gives it
  EXPECT_EQ(split("plain", {}), (P{{"plain", -1}}));
}

TEST(HfTokenizer, UnsupportedPartsAreNamed) {
  nlohmann::json tok = read_json("models/nano/tokenizer/tokenizer.json");
  const test::TempDir dir;
  const auto expect = [&](const nlohmann::json& pre, std::initializer_list<std::string> parts) {
    tok["pre_tokenizer"] = pre;
    write_text_file(dir.file("tokenizer.json"), tok.dump());
    test::expect_error([&] { Umt5Tokenizer t(dir.str()); }, parts);
  };
  expect(nullptr, {"tokenizer.json", "has no pre_tokenizer"});
  expect({{"type", "Whitespace"}}, {"tokenizer.json", "\"Whitespace\" is not Metaspace"});
  expect({{"type", "Metaspace"}, {"replacement", "_"}}, {"replacement \"_\""});
  expect({{"type", "Metaspace"}, {"prepend_scheme", "sometimes"}}, {"\"sometimes\" is unknown"});
  expect({{"type", "Sequence"},
          {"pretokenizers",
           {{{"type", "WhitespaceSplit"}}, {{"type", "Metaspace"}, {"prepend_scheme", "first"}}}}},
         {"WhitespaceSplit before a Metaspace"});
  tok["pre_tokenizer"] = {{"type", "Metaspace"}};
  tok["normalizer"] = {{"type", "NFKC"}};
  write_text_file(dir.file("tokenizer.json"), tok.dump());
  test::expect_error([&] { Umt5Tokenizer t(dir.str()); },
                     {"tokenizer.json", "NFKC", "is not one a T5/UMT5 tokenizer has"});
  tok["normalizer"] = nullptr;
  tok["added_tokens"] = {{{"id", 3}}};
  write_text_file(dir.file("tokenizer.json"), tok.dump());
  test::expect_error([&] { Umt5Tokenizer t(dir.str()); },
                     {"added_tokens[0]", "needs a string content"});
}

TEST(Unigram, TiesGoToTheLastPieceThatStartsEarliestAndUnknownRunsFuse) {
  const UnigramModel model({{"<unk>", 0}, {"f", -1}, {"fff", -2}, {"\u2581", -1}, {"xy", -30}}, 0);
  std::vector<int> ids;
  model.encode("ffff", ids);  // "f fff" and "fff f" both score -3
  EXPECT_EQ(ids, (std::vector<int>{1, 2}));
  ids.clear();
  model.encode("\u2581qqf\u00e9", ids);  // unknown characters score -30 - 10 each
  EXPECT_EQ(ids, (std::vector<int>{3, 0, 1, 0}));
  ids.clear();
  model.encode("xy", ids);  // the piece "xy" (-30) beats x and y unknown (-80)
  EXPECT_EQ(ids, (std::vector<int>{4}));
}

std::vector<std::string> graphemes(std::string_view text) {
  std::vector<std::string> out;
  for (size_t pos = 0; pos < text.size();) {
    const size_t end = grapheme_end(text, pos);
    out.emplace_back(text.substr(pos, end - pos));
    pos = end;
  }
  return out;
}

// UAX #29's rules one by one (the tokenizer fixtures only see those that change what the
// Precompiled normalizer does).
TEST(Graphemes, Uax29Rules) {
  using V = std::vector<std::string>;
  EXPECT_EQ(graphemes("\r\na\r"), (V{"\r\n", "a", "\r"}));                  // GB3, GB4, GB5
  EXPECT_EQ(graphemes("\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8\xea\xb0\x80"),  // L V T, LV
            (V{"\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8", "\xea\xb0\x80"}));   // GB6-8
  EXPECT_EQ(graphemes("e\u0301\u200dx"), (V{"e\u0301\u200d", "x"}));        // GB9
  EXPECT_EQ(graphemes("\u0915\u093f\u0e01\u0e33"), (V{"\u0915\u093f", "\u0e01\u0e33"}));  // GB9a
  EXPECT_EQ(graphemes("\u06001 \u0600"), (V{"\u06001", " ", "\u0600"}));                  // GB9b
  // GB9c: consonant, virama (a ZWJ may follow), consonant; not without the virama or the
  // first consonant.
  EXPECT_EQ(graphemes("\u0915\u094d\u0937\u093fa"), (V{"\u0915\u094d\u0937\u093f", "a"}));
  EXPECT_EQ(graphemes("\u0915\u094d\u200d\u0937"), (V{"\u0915\u094d\u200d\u0937"}));
  EXPECT_EQ(graphemes("\u0915\u093f\u0937"), (V{"\u0915\u093f", "\u0937"}));
  EXPECT_EQ(graphemes("a\u094d\u0937"), (V{"a\u094d", "\u0937"}));
  EXPECT_EQ(graphemes("\U0001F469\u200d\U0001F467x\u200d\U0001F467"),
            (V{"\U0001F469\u200d\U0001F467", "x\u200d", "\U0001F467"}));  // GB11
  EXPECT_EQ(graphemes("\U0001F1EF\U0001F1F5\U0001F1FA\U0001F1F8\U0001F1EB"),
            (V{"\U0001F1EF\U0001F1F5", "\U0001F1FA\U0001F1F8", "\U0001F1EB"}));  // GB12, GB13
  EXPECT_EQ(graphemes("\u200b\u0301"), (V{"\u200b", "\u0301"}));  // a control keeps no mark
}

}  // namespace
}  // namespace mova
