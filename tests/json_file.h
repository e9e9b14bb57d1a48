// Rewrites a JSON file in place, for tests that change one setting of a written checkpoint.
#pragma once

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace mova::test {

inline void edit_json_file(const std::string& path,
                           const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j;
  std::ifstream(path) >> j;  // a missing or malformed file throws: the test fails with it
  edit(j);
  std::ofstream(path) << j.dump(2);
}

}  // namespace mova::test
