// The text side against references: token ids against Debian's python3-sentencepiece on 64
// varied prompts (multilingual, emoji, HTML entities, odd whitespace, empty, > 512 tokens), and
// the UMT5 encoder against a float64 PyTorch reference (max-rel ≤ 1e-4).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "cli/cli_runner.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "models/tiny_checkpoint.h"
#include "python_reference.h"
#include "test_util.h"
#include "text/prompt_clean.h"
#include "text/umt5_tokenizer.h"

namespace mova {
namespace {

class TextReference : public ::testing::Test {
 protected:
  void SetUp() override { write_tiny_checkpoint(dir.file("m"), {}); }
  test::TempDir dir;
};

TEST_F(TextReference, TokenIdsMatchSentencepiece) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  const std::string prompts_file = std::string(MOVA_SOURCE_DIR) + "/tests/data/prompts.json";
  const auto ref = test::run_reference("tools/reference/tokenize_reference.py",
                                       "--model " + dir.file("m") + " --prompts " + prompts_file);
  ASSERT_TRUE(ref.has_value());
  nlohmann::json prompts;
  std::ifstream(prompts_file) >> prompts;
  ASSERT_GE(prompts.size(), 50u);
  const Umt5Tokenizer tok(dir.file("m") + "/tokenizer");
  for (size_t i = 0; i < prompts.size(); ++i) {
    const TokenizedPrompt t = tok.encode(prompts[i].get<std::string>());
    const auto expected = (*ref)[i].get<std::vector<int64_t>>();
    ASSERT_EQ(t.ids.size(), 512u);
    EXPECT_EQ(t.length, static_cast<int64_t>(expected.size())) << "prompt " << i;
    EXPECT_EQ(std::vector<int64_t>(t.ids.begin(), t.ids.begin() + t.length), expected)
        << "prompt " << i << ": " << prompts[i].get<std::string>().substr(0, 60);
    for (size_t j = t.length; j < t.ids.size(); ++j) ASSERT_EQ(t.ids[j], tok.pad_id());
    EXPECT_EQ(t.mask[t.length - 1], 1);
    if (t.length < 512) {
      EXPECT_EQ(t.mask[t.length], 0);
    }
  }
}

// A folder with only tokenizer.json (what T5TokenizerFast reads; the published folder may ship
// nothing else) tokenizes exactly like the spiece.model it was converted from.
TEST_F(TextReference, TokenizerJsonOnlyFolderMatchesSpieceModel) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  const std::string spm_dir = dir.file("m") + "/tokenizer", json_dir = dir.file("json_only");
  std::filesystem::create_directories(json_dir);
  ASSERT_TRUE(test::run_reference("tools/reference/spm_to_tokenizer_json.py",
                                  spm_dir + "/spiece.model " + json_dir + "/tokenizer.json"));
  nlohmann::json prompts;
  std::ifstream(std::string(MOVA_SOURCE_DIR) + "/tests/data/prompts.json") >> prompts;
  const Umt5Tokenizer from_spm(spm_dir), from_json(json_dir);
  EXPECT_EQ(from_json.vocab_size(), from_spm.vocab_size());
  EXPECT_EQ(from_json.eos_id(), from_spm.eos_id());
  EXPECT_EQ(from_json.pad_id(), from_spm.pad_id());
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(from_json.encode(prompts[i].get<std::string>()).ids,
              from_spm.encode(prompts[i].get<std::string>()).ids)
        << "prompt " << i;
}

TEST(TokenizerJson, UnsupportedOrBrokenFilesAreNamed) {
  test::TempDir d;
  write_text_file(d.file("tokenizer.json"), R"({"model": {"type": "BPE", "vocab": {}}})");
  test::expect_error([&] { Umt5Tokenizer t(d.str()); }, {"tokenizer.json", "only Unigram"});
  write_text_file(d.file("tokenizer.json"), R"({"model": {"type": "Unigram", "unk_id": 5,
      "vocab": [["<pad>", 0.0]]}})");
  test::expect_error([&] { Umt5Tokenizer t(d.str()); }, {"tokenizer.json", "unk_id 5"});
  write_text_file(d.file("tokenizer.json"), "{not json");
  test::expect_error([&] { Umt5Tokenizer t(d.str()); }, {"tokenizer.json", "not valid JSON"});
  std::filesystem::remove(d.file("tokenizer.json"));
  test::expect_error([&] { Umt5Tokenizer t(d.str()); },
                     {"neither tokenizer.json nor spiece.model"});
}

TEST_F(TextReference, EncoderMatchesTorch) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  auto r = test::run_cli(
      "-q eval tokenize --model " + dir.file("m") + " --out " + dir.file("tok.safetensors") +
      " --set 'text=Un chat noir 🐱 traverse la rue; 钟声响起。' --set max_length=40");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string io = " --model " + dir.file("m") + " --in " + dir.file("tok.safetensors");
  r = test::run_cli("-q eval text-encode" + io + " --out " + dir.file("o.safetensors"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  ASSERT_TRUE(test::run_reference("tools/reference/umt5_reference.py",
                                  io + " --out " + dir.file("r.safetensors")));
  const Tensor a = SafetensorsFile::open(dir.file("o.safetensors"))->tensor("context");
  const Tensor b = SafetensorsFile::open(dir.file("r.safetensors"))->tensor("context");
  ASSERT_EQ(a.shape(), b.shape());
  EXPECT_EQ(a.shape(), (Shape{1, 40, 48}));
  const double rel = test::max_rel_error(a, b);
  std::printf("[ measure  ] text-encode: max rel error %.3g\n", rel);
  EXPECT_LE(rel, 1e-4);
  EXPECT_EQ(a.to_vector().back(), 0.0f);  // padded rows are zero
}

// The cleaned text itself (what the tokenizer sees), not just token ids of a tiny vocabulary
// that maps much to <unk>: the 64 prompts, and prompts_cleaning.json's entity and ftfy corner
// cases (legacy entities without ';', prefixes, invalid numeric references, upper-case names,
// nested escapes, a '<' on a later line, fullwidth forms, digraphs, tag characters).
TEST(PromptCleanReference, CleanedTextMatchesPython) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  for (const char* file : {"prompts.json", "prompts_cleaning.json"}) {
    const std::string path = std::string(MOVA_SOURCE_DIR) + "/tests/data/" + file;
    const auto ref =
        test::run_reference("tools/reference/tokenize_reference.py", "--clean --prompts " + path);
    ASSERT_TRUE(ref) << file;
    nlohmann::json prompts;
    std::ifstream(path) >> prompts;
    ASSERT_EQ(prompts.size(), ref->size()) << file;
    for (size_t i = 0; i < prompts.size(); ++i)
      EXPECT_EQ(clean_prompt(prompts[i].get<std::string>()), (*ref)[i].get<std::string>())
          << file << " #" << i << ": " << prompts[i].get<std::string>();
  }
}

// 3000 random strings over pieces that the entity rules, the rounds and the segments turn on,
// cleaned here and by the Python restatement: the corner cases nobody thought of.
TEST(PromptCleanReference, RandomEntitySoupMatchesPython) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  const std::vector<std::string> pieces = {"&",
                                           "#",
                                           "x",
                                           "X",
                                           ";",
                                           "amp",
                                           "AMP",
                                           "lt",
                                           "gt",
                                           "<",
                                           "\n",
                                           " ",
                                           "1",
                                           "50",
                                           "0",
                                           "9999999",
                                           "eacute",
                                           "EACUTE",
                                           "not",
                                           "it",
                                           "in",
                                           "copy",
                                           "nbsp",
                                           "a",
                                           "F",
                                           "zz",
                                           "\xc2\x96",
                                           "\xef\xbc\x86",
                                           "\xef\xbc\x9b",
                                           "\xef\xac\x81",
                                           "\xe2\x80\x9c",
                                           "\x1b[",
                                           "m",
                                           "\t",
                                           "\xc5\x89",
                                           "\xef\xbd\xb6",
                                           "\xe3\x80\x80",
                                           "\xf3\xa0\x81\xa7",
                                           "NotEqualTilde",
                                           "frac12",
                                           "szlig",
                                           "SZLIG",
                                           "x1F431",
                                           "#x",
                                           "&#",
                                           "&amp;",
                                           "&#xff06;",
                                           "amp;amp;amp;",
                                           "&#38"};
  std::mt19937 rng(20261203);
  nlohmann::json prompts = nlohmann::json::array();
  for (int i = 0; i < 3000; ++i) {
    std::string p;
    for (int k = std::uniform_int_distribution<int>(1, 14)(rng); k > 0; --k)
      p += pieces[std::uniform_int_distribution<size_t>(0, pieces.size() - 1)(rng)];
    prompts.push_back(p);
  }
  test::TempDir dir;
  std::ofstream(dir.file("soup.json")) << prompts.dump();
  const auto ref = test::run_reference("tools/reference/tokenize_reference.py",
                                       "--clean --prompts " + dir.file("soup.json"));
  ASSERT_TRUE(ref);
  ASSERT_EQ(ref->size(), prompts.size());
  int differ = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    const std::string ours = clean_prompt(prompts[i].get<std::string>());
    if (ours != (*ref)[i].get<std::string>() && ++differ <= 5)
      ADD_FAILURE() << prompts[i].dump() << ": ours " << nlohmann::json(ours).dump() << ", Python "
                    << (*ref)[i].dump();
  }
  EXPECT_EQ(differ, 0);
}

// Hand-worked ftfy.fix_text cases (ftfy 6 defaults), one per reproduced step.
TEST(PromptClean, FtfySubset) {
  EXPECT_EQ(clean_prompt("\xe2\x80\x9cHi,\xe2\x80\x9d she said. It\xe2\x80\x99s"),
            "\"Hi,\" she said. It's");
  EXPECT_EQ(clean_prompt("\xef\xac\x81sh \xef\xac\x82op"), "fish flop");  // U+FB01, U+FB02
  EXPECT_EQ(clean_prompt("\xc2\x93ok\xc2\x94"), "\"ok\"");  // C1 0x93/0x94 as cp1252 quotes
  EXPECT_EQ(clean_prompt("\x1b[1;31mred\x1b[0m"), "red");
  EXPECT_EQ(clean_prompt("a\xef\xbb\xbf"
                         "b\x07"
                         "c"),
            "abc");  // BOM and BEL removed
  // &ldquo; is unescaped (then uncurled) by ftfy only when the text has no '<'.
  EXPECT_EQ(clean_prompt("&ldquo;x&rdquo;"), "\"x\"");
  EXPECT_EQ(clean_prompt("<i> &ldquo;x&rdquo;"), "<i> \xe2\x80\x9cx\xe2\x80\x9d");
  // Fullwidth forms narrowed (fix_character_width); U+200B is left to the tokenizer's NFKC.
  EXPECT_EQ(clean_prompt("\xef\xbc\xa1\xe2\x80\x8b"), "A\xe2\x80\x8b");
  // Fixed until nothing changes: four levels of escaping, a fullwidth "&amp;".
  EXPECT_EQ(clean_prompt("&amp;amp;amp;amp;amp;"), "&");
  EXPECT_EQ(clean_prompt("\xef\xbc\x86"
                         "amp\xef\xbc\x9b"),
            "&");
  // html.unescape's legacy names without ';', and the longest-prefix rule.
  EXPECT_EQ(clean_prompt("&copy 2024 &notit;"), "\xc2\xa9 2024 \xc2\xacit;");
}

TEST(PromptClean, WhitespaceEntitiesAndUtf8) {
  EXPECT_EQ(clean_prompt("  a \t b\n\nc  "), "a b c");
  EXPECT_EQ(clean_prompt("fish &amp;amp; chips"), "fish & chips");  // unescaped twice
  EXPECT_EQ(clean_prompt("a&nbsp;b"), "a b");                       // U+00A0 is whitespace
  EXPECT_EQ(clean_prompt("&#x1F431;"), "\xF0\x9F\x90\xB1");
  EXPECT_EQ(clean_prompt(""), "");
  test::expect_error([] { clean_prompt("bad \xff byte"); }, {"not valid UTF-8", "offset 4"});
  test::expect_error([] { clean_prompt("cut \xe4\xb8"); }, {"not valid UTF-8"});
  for (const char* bad : {"\xed\xa0\x80", "\xe0\x80\xaf", "\xf0\x80\x80\xaf", "\xf4\x90\x80\x80"})
    test::expect_error([&] { clean_prompt(bad); }, {"not valid UTF-8", "offset 0"});
  EXPECT_EQ(clean_prompt("\xed\x9f\xbf\xf4\x8f\xbf\xbf"), "\xed\x9f\xbf\xf4\x8f\xbf\xbf");
  EXPECT_EQ(clean_prompt(std::string(kMaxPromptBytes, 'a')).size(), kMaxPromptBytes);
  test::expect_error([] { clean_prompt(std::string(kMaxPromptBytes + 1, 'a')); },
                     {"prompt of 65537 bytes: at most 65536 are taken"});
}

}  // namespace
}  // namespace mova
