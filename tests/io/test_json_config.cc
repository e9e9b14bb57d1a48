// Typed reads of config.json fields: what converts to an integer and what is a named error
// (a config field like 1e100 once reached an undefined float-to-integer cast; found by
// fuzz/fuzz_config_json.cc).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "io/json_config.h"
#include "test_util.h"

namespace mova {
namespace {

JsonConfig config(const std::string& text) {
  return JsonConfig(nlohmann::json::parse(text), "m/config.json");
}

TEST(JsonConfig, IntegersFromIntegersAndIntegralFloatsOnly) {
  const JsonConfig j = config(
      R"({"a": 16, "b": 16.0, "c": -3, "d": 9223372036854775807, "e": -9.2e18,
          "list": [1, 2.0, -4], "missing": null})");
  EXPECT_EQ(j.get_int("a"), 16);
  EXPECT_EQ(j.get_int("b"), 16);
  EXPECT_EQ(j.get_int("c"), -3);
  EXPECT_EQ(j.get_int("d"), INT64_MAX);
  EXPECT_EQ(j.get_int("e"), -9200000000000000000);
  EXPECT_EQ(j.get_int_list("list"), (std::vector<int64_t>{1, 2, -4}));
  EXPECT_EQ(j.get_int("missing", 7), 7);
  EXPECT_EQ(j.get_int("absent", 8), 8);
  EXPECT_DOUBLE_EQ(j.get_double("b"), 16.0);
}

TEST(JsonConfig, OutOfRangeOrFractionalIntegersAreNamedErrors) {
  const JsonConfig j = config(
      R"({"huge": 1e100, "tiny": -1e19, "two63": 9223372036854775808.0,
          "unsigned": 18446744073709551615, "half": 2.5, "text": "forty",
          "list": [1, 1e300]})");
  for (const char* key : {"huge", "tiny", "two63", "unsigned", "half", "text"})
    test::expect_error([&] { j.get_int(key); },
                       {"m/config.json: field '", key, "' must be an integer"});
  test::expect_error([&] { j.get_int_list("list"); },
                     {"m/config.json: field 'list' must be a list of integers"});
}

}  // namespace
}  // namespace mova
