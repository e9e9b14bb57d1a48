// Runs a reference script under Debian's python3 (with python3-torch) and parses its JSON
// output. Tests skip, saying why, when that interpreter or torch is missing.
#pragma once

#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace mova::test {

constexpr const char* kReferencePython = "/usr/bin/python3";

inline bool reference_python_available() {
  static const bool ok = [] {
    const std::string cmd = std::string(kReferencePython) + " -c 'import torch' >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  }();
  return ok;
}

// True when Debian's python3 can import `module` (e.g. "PIL").
inline bool reference_module_available(const std::string& module) {
  const std::string cmd =
      std::string(kReferencePython) + " -c 'import " + module + "' >/dev/null 2>&1";
  return std::system(cmd.c_str()) == 0;
}

// `script` is relative to the source tree. Returns nullopt (and records a failure) when the
// script fails or prints something that is not JSON.
inline std::optional<nlohmann::json> run_reference(const std::string& script,
                                                   const std::string& args) {
  const std::string cmd =
      std::string(kReferencePython) + " " + MOVA_SOURCE_DIR + "/" + script + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    ADD_FAILURE() << "cannot run " << cmd;
    return std::nullopt;
  }
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  if (pclose(p) != 0) {
    ADD_FAILURE() << cmd << " failed:\n" << out;
    return std::nullopt;
  }
  try {
    return nlohmann::json::parse(out);
  } catch (const nlohmann::json::exception&) {
    ADD_FAILURE() << cmd << " printed no JSON:\n" << out;
    return std::nullopt;
  }
}

#define MOVA_REQUIRE_REFERENCE_PYTHON()                                                      \
  do {                                                                                       \
    if (!::mova::test::reference_python_available())                                         \
      GTEST_SKIP() << "needs /usr/bin/python3 with python3-torch (scripts/install-deps.sh)"; \
  } while (0)

#define MOVA_REQUIRE_PYTHON_MODULE(module)                                                \
  do {                                                                                    \
    if (!::mova::test::reference_module_available(module))                                \
      GTEST_SKIP() << "needs /usr/bin/python3 with " module " (scripts/install-deps.sh)"; \
  } while (0)

}  // namespace mova::test
