// Each `mova` subcommand lives in its own cmd_*.cc and registers itself on the app.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace mova::cli {

struct GlobalOptions {
  int threads = 0;  // 0: every CPU the process may use
  std::string log_level = "info";
};

void register_info(CLI::App& app, GlobalOptions& global);
void register_make_tiny(CLI::App& app, GlobalOptions& global);
void register_eval(CLI::App& app, GlobalOptions& global);
void register_generate(CLI::App& app, GlobalOptions& global);
void register_serve(CLI::App& app, GlobalOptions& global);

// The model used when --model is absent: $MOVA_MODEL, else the bundled nano model.
std::string default_model();

}  // namespace mova::cli
