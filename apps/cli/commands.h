// Each `mova` subcommand lives in its own cmd_*.cc and registers itself on the app.
#pragma once

#include <CLI/CLI.hpp>

namespace mova::cli {

struct GlobalOptions {
  int threads = 0;  // 0: all cores
  std::string log_level = "info";
};

void register_info(CLI::App& app, GlobalOptions& global);
void register_make_tiny(CLI::App& app, GlobalOptions& global);
void register_eval(CLI::App& app, GlobalOptions& global);
void register_generate(CLI::App& app, GlobalOptions& global);

}  // namespace mova::cli
