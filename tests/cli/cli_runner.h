// Runs the built `mova` binary and captures its exit code and combined output.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace mova::test {

struct CliResult {
  int exit_code = -1;
  std::string output;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs a shell command line, capturing stdout and stderr together.
inline CliResult run_command(const std::string& command) {
  const std::string cmd = command + " 2>&1";
  CliResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

inline CliResult run_cli(const std::string& args) {
  return run_command(std::string(MOVA_CLI_PATH) + " " + args);
}

// For a run given --device cuda (or a component on it): true when it succeeded (a CUDA build
// on a GPU machine: the caller checks its output); otherwise expects exit 6 with the message
// naming what is missing, and false.
inline bool ran_on_cuda_or_explained(const CliResult& r) {
  if (r.exit_code == 0) return true;
  EXPECT_EQ(r.exit_code, 6) << r.output;
  const bool explained = r.output.find("built without the CUDA backend") != std::string::npos ||
                         r.output.find("no CUDA device or driver") != std::string::npos;
  EXPECT_TRUE(explained) << r.output;
  return false;
}

}  // namespace mova::test
