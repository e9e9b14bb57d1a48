// The charsmap normalizer on a small charsmap (tests/data/small_charsmap.bin, what spm_train
// compiled from small_charsmap_rules.tsv: ｶ→カ, カ+U+3099→ガ, Ⅳ→IV, NBSP→space, ﬁ→fi,
// u+U+0308→ü, u+U+0308+U+0301→ǘ, ZWSP→space), applied grapheme cluster by cluster as
// tokenizers' Precompiled applies it (each answer checked against that normalizer itself, the
// Node binding of tokenizers 0.23.2, 2026-12-04).
#include <gtest/gtest.h>

#include "io/atomic_file.h"
#include "test_util.h"
#include "text/precompiled_charsmap.h"

namespace mova {
namespace {

TEST(PrecompiledCharsmap, MapsClustersAsTokenizersDoes) {
  const PrecompiledCharsmap map(
      read_text_file(std::string(MOVA_SOURCE_DIR) + "/tests/data/small_charsmap.bin"), "small");
  EXPECT_EQ(map.normalize("\xef\xbd\xb6"), "\xe3\x82\xab");  // ｶ → カ
  // A cluster under 6 bytes becomes what its shortest key maps to: the accent after Ⅳ goes,
  // and so does the acute after u+diaeresis (the key u+U+0308 is shorter than the one with it).
  EXPECT_EQ(map.normalize("\xe2\x85\xa3\xcc\x81x"), "IVx");
  EXPECT_EQ(map.normalize("u\xcc\x88\xcc\x81"), "\xc3\xbc");
  EXPECT_EQ(map.normalize("u\xcc\x88"), "\xc3\xbc");
  // カ+U+3099 is 6 bytes: character by character, so the key for the pair is not used.
  EXPECT_EQ(map.normalize("\xe3\x82\xab\xe3\x82\x99"), "\xe3\x82\xab\xe3\x82\x99");
  EXPECT_EQ(map.normalize("a\xc2\xa0\xef\xac\x81\xe2\x80\x8b"), "a fi ");
  EXPECT_EQ(map.normalize("plain"), "plain");
  EXPECT_EQ(PrecompiledCharsmap("", "none").normalize("\xe2\x85\xa3"), "\xe2\x85\xa3");
}

TEST(PrecompiledCharsmap, MalformedBlobsAreNamed) {
  test::expect_error([] { PrecompiledCharsmap m("abc", "f.model"); }, {"f.model", "too short"});
  test::expect_error([] { PrecompiledCharsmap m(std::string("\xff\x00\x00\x00xxxx", 8), "f"); },
                     {"f", "does not fit"});
  // A trie whose root points past its end.
  const PrecompiledCharsmap bad(std::string("\x04\x00\x00\x00\xff\xff\xff\xff\x00", 9), "g");
  test::expect_error([&] { (void)bad.normalize("a"); }, {"g", "past its end"});
}

}  // namespace
}  // namespace mova
