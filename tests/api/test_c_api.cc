// The public C API: status codes, per-thread error messages, info JSON, log callback.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <thread>

#include "api/status.h"
#include "models/tiny_checkpoint.h"
#include "mova.h"
#include "test_util.h"

namespace mova {
namespace {

TEST(CApi, OpenInfoClose) {
  test::TempDir dir;
  write_tiny_checkpoint(dir.file("m"), {});
  mova_model* model = nullptr;
  ASSERT_EQ(mova_model_open(dir.file("m").c_str(), &model), MOVA_OK) << mova_last_error();
  char* info = mova_model_info_json(model);
  ASSERT_NE(info, nullptr);
  const auto j = nlohmann::json::parse(info);
  EXPECT_TRUE(j["complete"].get<bool>());
  mova_free_string(info);
  mova_model_close(model);
  EXPECT_STREQ(mova_version(), "0.1.0");
}

TEST(CApi, ErrorsAreCodesWithMessages) {
  mova_model* model = reinterpret_cast<mova_model*>(0x1);
  EXPECT_EQ(mova_model_open("/nonexistent/folder", &model), MOVA_ERR_IO);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(std::string(mova_last_error()).find("/nonexistent/folder"), std::string::npos);
  // Messages are per thread: another thread sees no error.
  std::string other = "unset";
  std::thread([&] { other = mova_last_error(); }).join();
  EXPECT_EQ(other, "");
  EXPECT_EQ(mova_model_open(nullptr, &model), MOVA_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(mova_model_info_json(nullptr), nullptr);
}

// Every error kind has its own status code and comes back from it (the C API's statuses, and
// `mova generate`'s exit codes, which it reads back from them).
TEST(CApi, EveryErrorKindHasItsOwnStatus) {
  std::set<mova_status> seen;
  for (int k = 1; k <= static_cast<int>(ErrorKind::kOutOfMemory); ++k) {
    const auto kind = static_cast<ErrorKind>(k);
    const mova_status status = to_status(kind);
    EXPECT_NE(status, MOVA_OK) << error_kind_name(kind);
    EXPECT_TRUE(seen.insert(status).second) << error_kind_name(kind);
    EXPECT_EQ(from_status(status), kind) << error_kind_name(kind);
  }
  EXPECT_EQ(to_status(ErrorKind::kOutOfMemory), MOVA_ERR_OUT_OF_MEMORY);
}

TEST(CApi, LogCallbackReceivesMessages) {
  static std::string seen;
  mova_set_log_level(MOVA_LOG_INFO);
  int calls = 0;
  mova_set_log_callback(
      [](mova_log_level, const char* msg, void* user) {
        seen = msg;
        *static_cast<int*>(user) += 1;
      },
      &calls);
  test::TempDir dir;
  write_tiny_checkpoint(dir.file("m"), {});  // logs "wrote tiny MOVA checkpoint ..."
  mova_set_log_callback(nullptr, nullptr);
  mova_set_log_level(MOVA_LOG_WARN);
  EXPECT_GE(calls, 1);
  EXPECT_NE(seen.find("tiny MOVA checkpoint"), std::string::npos);
}

}  // namespace
}  // namespace mova
