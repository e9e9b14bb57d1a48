// `mova serve`'s API key (apps/server/api_key.h): which heads pass, what each refusal is
// answered with, and reading the key from its file.
#include "server/api_key.h"

#include <gtest/gtest.h>

#include <fstream>

#include "runtime/error.h"
#include "test_util.h"

namespace mova::server {
namespace {

constexpr const char* kKey = "s3cret-Key_0123456789";

HttpRequest head(const std::string& method, const std::string& path,
                 std::vector<std::string> authorization = {}) {
  HttpRequest r;
  r.method = method;
  r.path = r.target = path;
  r.headers.emplace_back("host", "x");
  for (auto& a : authorization) r.headers.emplace_back("authorization", std::move(a));
  return r;
}

// The status check() refuses `r` with, or 0 when it passes.
int refusal(const ApiKey& key, const HttpRequest& r) {
  try {
    key.check(r);
    return 0;
  } catch (const HttpError& e) {
    EXPECT_EQ(std::string(e.what()).find(kKey), std::string::npos) << "the key in an answer";
    return e.status();
  }
}

TEST(ApiKey, OnlyTheRightBearerTokenPasses) {
  const ApiKey key(kKey, "test");
  const std::string k = kKey;
  EXPECT_EQ(refusal(key, head("POST", "/v1/generate", {"Bearer " + k})), 0);
  EXPECT_EQ(refusal(key, head("GET", "/v1/jobs", {"bearer   " + k})), 0);  // scheme any case
  EXPECT_EQ(refusal(key, head("GET", "/v1/jobs", {"BEARER " + k})), 0);
  for (const std::string& wrong : std::vector<std::string>{
           "Bearer " + k.substr(0, k.size() - 1), "Bearer " + k + "x", "Bearer x" + k.substr(1),
           "Bearer", "Bearer ", "Basic " + k, "Bearer" + k, "Bearer\t" + k, k, "Token " + k, ""})
    EXPECT_EQ(refusal(key, head("GET", "/v1/jobs", {wrong})), 401) << "'" << wrong << "'";
  EXPECT_EQ(refusal(key, head("GET", "/v1/model")), 401);  // no header at all
  EXPECT_EQ(refusal(key, head("DELETE", "/v1/jobs/ab")), 401);
  EXPECT_EQ(refusal(key, head("GET", "/v1/jobs", {"Bearer " + k, "Bearer " + k})), 400);
}

TEST(ApiKey, HealthIsOpenWithoutCredentialsButNotWithWrongOnes) {
  const ApiKey key(kKey, "test");
  EXPECT_EQ(refusal(key, head("GET", "/health")), 0);
  HttpRequest with_body = head("GET", "/health");
  with_body.content_length = 1 << 20;  // would be read into memory before the handler
  EXPECT_EQ(refusal(key, with_body), 401);
  EXPECT_EQ(refusal(key, head("GET", "/health", {"Bearer wrong"})), 401);
  EXPECT_EQ(refusal(key, head("POST", "/health")), 401);
  EXPECT_EQ(refusal(key, head("GET", "/")), 401);
}

TEST(ApiKey, A401NamesTheBearerScheme) {
  const HttpResponse r = error_response(401, "wrong API key");
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(r.headers[0].second.rfind("Bearer ", 0), 0u);
  EXPECT_NE(response_head(r, r.body.size()).find("HTTP/1.1 401 Unauthorized\r\n"),
            std::string::npos);
  EXPECT_TRUE(error_response(403, "x").headers.empty());
}

TEST(ApiKey, RefusesKeysThatCannotBeSentAndDoesNotQuoteThem) {
  test::expect_error([] { const ApiKey key("", "$MOVA_API_KEY"); }, {"$MOVA_API_KEY", "empty"});
  for (const char* bad : {"two words", "tab\there", "caf\xc3\xa9", "bell\a"}) {
    try {
      const ApiKey key(bad, "--api-key-file k.txt");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("--api-key-file k.txt"), std::string::npos);
      EXPECT_EQ(std::string(e.what()).find(bad), std::string::npos) << e.what();
    }
  }
}

TEST(ApiKey, TheFileGivesItsFirstLineTrimmed) {
  test::TempDir dir;
  const auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir.file(name), std::ios::binary) << text;
    return dir.file(name);
  };
  EXPECT_EQ(read_api_key_file(write("a", "abc\n")), "abc");
  EXPECT_EQ(read_api_key_file(write("b", "  abc \r\nsecond line\n")), "abc");
  EXPECT_EQ(read_api_key_file(write("e", "\tabc\t\r\n")), "abc");
  EXPECT_EQ(read_api_key_file(write("c", "abc")), "abc");
  EXPECT_EQ(read_api_key_file(write("d", "")), "");  // and ApiKey then says it is empty
  test::expect_error([&] { read_api_key_file(dir.file("missing")); }, {dir.file("missing")});
  test::expect_error([&] { read_api_key_file(dir.str()); }, {dir.str(), "folder"});
}

}  // namespace
}  // namespace mova::server
