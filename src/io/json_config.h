// Typed access to a component's config.json. Every error names the file and the field, e.g.
// "ckpt/video_dit/config.json: field 'num_heads' must be an integer, got \"forty\"".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mova {

class JsonConfig {
 public:
  // Reads and parses `path`; it must hold a JSON object.
  static JsonConfig load(const std::string& path);
  JsonConfig(nlohmann::json json, std::string origin);

  bool has(const std::string& key) const;
  const std::string& origin() const { return origin_; }
  const nlohmann::json& json() const { return json_; }

  int64_t get_int(const std::string& key) const;
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> get_int_list(const std::string& key) const;
  std::vector<int64_t> get_int_list(const std::string& key,
                                    const std::vector<int64_t>& fallback) const;
  std::vector<double> get_double_list(const std::string& key) const;
  std::vector<double> get_double_list(const std::string& key,
                                      const std::vector<double>& fallback) const;
  std::vector<bool> get_bool_list(const std::string& key, const std::vector<bool>& fallback) const;

  // Fails naming the field when value is outside [lo, hi].
  void check_range(const std::string& key, double value, double lo, double hi) const;
  // Fails naming the field, what it must be and what it holds (for checks beyond the getters').
  [[noreturn]] void type_error(const std::string& key, const char* expected) const;

 private:
  const nlohmann::json& at(const std::string& key) const;

  nlohmann::json json_;
  std::string origin_;
};

}  // namespace mova
