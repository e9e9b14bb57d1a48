#include "io/json_config.h"

#include <cmath>
#include <cstdint>
#include <optional>

#include "io/atomic_file.h"
#include "runtime/error.h"

namespace mova {

JsonConfig JsonConfig::load(const std::string& path) {
  const std::string text = read_text_file(path);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorKind::kFormat, path, ": not valid JSON: ", e.what());
  }
  MOVA_CHECK(j.is_object(), ErrorKind::kFormat, path, ": expected a JSON object");
  return JsonConfig(std::move(j), path);
}

JsonConfig::JsonConfig(nlohmann::json json, std::string origin)
    : json_(std::move(json)), origin_(std::move(origin)) {}

bool JsonConfig::has(const std::string& key) const {
  return json_.contains(key) && !json_[key].is_null();
}

const nlohmann::json& JsonConfig::at(const std::string& key) const {
  MOVA_CHECK(has(key), ErrorKind::kFormat, origin_, ": missing field '", key, "'");
  return json_[key];
}

void JsonConfig::type_error(const std::string& key, const char* expected) const {
  fail(ErrorKind::kFormat, origin_, ": field '", key, "' must be ", expected, ", got ",
       json_[key].dump());
}

namespace {

// An int64 from a JSON integer, or from an integral float in range (configs written by Python
// sometimes store 16 as 16.0); nullopt otherwise (too large, fractional, not a number).
std::optional<int64_t> as_int64(const nlohmann::json& v) {
  if (v.is_number_unsigned())
    return v.get<uint64_t>() <= static_cast<uint64_t>(INT64_MAX)
               ? std::optional<int64_t>(static_cast<int64_t>(v.get<uint64_t>()))
               : std::nullopt;
  if (v.is_number_integer()) return v.get<int64_t>();
  if (!v.is_number_float()) return std::nullopt;
  // [-2^63, 2^63) holds exactly the doubles an int64 can take; the cast is undefined outside.
  const double d = v.get<double>();
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != std::trunc(d))
    return std::nullopt;
  return static_cast<int64_t>(d);
}

}  // namespace

int64_t JsonConfig::get_int(const std::string& key) const {
  if (const auto i = as_int64(at(key))) return *i;
  type_error(key, "an integer");
}
int64_t JsonConfig::get_int(const std::string& key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}

double JsonConfig::get_double(const std::string& key) const {
  const auto& v = at(key);
  if (!v.is_number()) type_error(key, "a number");
  return v.get<double>();
}
double JsonConfig::get_double(const std::string& key, double fallback) const {
  return has(key) ? get_double(key) : fallback;
}

bool JsonConfig::get_bool(const std::string& key) const {
  const auto& v = at(key);
  if (!v.is_boolean()) type_error(key, "true or false");
  return v.get<bool>();
}
bool JsonConfig::get_bool(const std::string& key, bool fallback) const {
  return has(key) ? get_bool(key) : fallback;
}

std::string JsonConfig::get_string(const std::string& key) const {
  const auto& v = at(key);
  if (!v.is_string()) type_error(key, "a string");
  return v.get<std::string>();
}
std::string JsonConfig::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

std::vector<int64_t> JsonConfig::get_int_list(const std::string& key) const {
  const auto& v = at(key);
  if (!v.is_array()) type_error(key, "a list of integers");
  std::vector<int64_t> out;
  for (const auto& e : v) {
    const auto i = as_int64(e);
    if (!i) type_error(key, "a list of integers");
    out.push_back(*i);
  }
  return out;
}
std::vector<int64_t> JsonConfig::get_int_list(const std::string& key,
                                              const std::vector<int64_t>& fallback) const {
  return has(key) ? get_int_list(key) : fallback;
}

std::vector<double> JsonConfig::get_double_list(const std::string& key) const {
  const auto& v = at(key);
  if (!v.is_array()) type_error(key, "a list of numbers");
  std::vector<double> out;
  for (const auto& e : v) {
    if (!e.is_number()) type_error(key, "a list of numbers");
    out.push_back(e.get<double>());
  }
  return out;
}
std::vector<double> JsonConfig::get_double_list(const std::string& key,
                                                const std::vector<double>& fallback) const {
  return has(key) ? get_double_list(key) : fallback;
}

std::vector<bool> JsonConfig::get_bool_list(const std::string& key,
                                            const std::vector<bool>& fallback) const {
  if (!has(key)) return fallback;
  const auto& v = json_[key];
  if (!v.is_array()) type_error(key, "a list of booleans");
  std::vector<bool> out;
  for (const auto& e : v) {
    if (!e.is_boolean()) type_error(key, "a list of booleans");
    out.push_back(e.get<bool>());
  }
  return out;
}

void JsonConfig::check_range(const std::string& key, double value, double lo, double hi) const {
  MOVA_CHECK(value >= lo && value <= hi, ErrorKind::kFormat, origin_, ": field '", key,
             "' = ", value, " is outside [", lo, ", ", hi, "]");
}

}  // namespace mova
