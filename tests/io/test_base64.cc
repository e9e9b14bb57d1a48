// io/base64.h against RFC 4648's test vectors and the tests' own encoder (test_util.h).
#include "io/base64.h"

#include <gtest/gtest.h>

#include <random>

#include "test_util.h"

namespace mova {
namespace {

TEST(Base64, DecodesTheRfcVectorsPaddedOrNot) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : vectors) {
    EXPECT_EQ(base64_decode(coded, "v"), plain) << coded;
    std::string unpadded = coded;
    while (!unpadded.empty() && unpadded.back() == '=') unpadded.pop_back();
    EXPECT_EQ(base64_decode(unpadded, "v"), plain) << unpadded;
  }
}

TEST(Base64, RoundTripsRandomBytes) {
  std::mt19937 rng(5);
  for (size_t n = 0; n < 200; ++n) {
    std::string bytes(n, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    ASSERT_EQ(base64_decode(test::base64_encode(bytes, true), "r"), bytes) << n;
    ASSERT_EQ(base64_decode(test::base64_encode(bytes, false), "r"), bytes) << n;
  }
}

TEST(Base64, MalformedTextIsAFormatErrorNamingTheInput) {
  for (const char* bad : {"Zg=", "Zg===", "Z", "Zm9vY", "Zg==Zg==", "====", "Zm9v YmFy",
                          "Zm9v\nYmFy", "Zm9v-_", "Zm9v="}) {
    try {
      base64_decode(bad, "field 'image'");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kFormat) << bad;
      EXPECT_NE(std::string(e.what()).find("field 'image': invalid base64"), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace mova
