// The `mova` command line. Exit codes: 0 success, 2 bad usage or option value, 3 I/O error,
// 4 malformed input file, 5 shape mismatch, 6 unsupported input, 7 out of memory, 70 internal
// error, 130 aborted. Errors print one line (or an indented list) naming the file/option involved.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <new>

#include "commands.h"
#include "mova.h"
#include "runtime/error.h"
#include "runtime/log.h"

namespace {

int exit_code(mova::ErrorKind kind) {
  switch (kind) {
    case mova::ErrorKind::kInvalidArgument:
      return 2;
    case mova::ErrorKind::kIo:
      return 3;
    case mova::ErrorKind::kFormat:
      return 4;
    case mova::ErrorKind::kShape:
      return 5;
    case mova::ErrorKind::kUnsupported:
      return 6;
    case mova::ErrorKind::kInternal:
      return 70;
    case mova::ErrorKind::kAborted:
      return 130;
    case mova::ErrorKind::kOutOfMemory:
      return 7;
  }
  return 1;
}

int run(int argc, char** argv) {
  CLI::App app{"mova.cpp: joint video+audio generation with MOVA, natively"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("mova.cpp ") + mova_version());
  mova::cli::GlobalOptions global;
  app.add_option("-t,--threads", global.threads,
                 "CPU threads (default: the CPUs this process may use)")
      ->check(CLI::Range(0, 4096));
  app.add_option("--log-level", global.log_level, "debug, info, warn, error or silent")
      ->capture_default_str();
  app.add_flag_callback(
      "-v,--verbose", [&] { global.log_level = "debug"; }, "log debug messages");
  app.add_flag_callback(
      "-q,--quiet", [&] { global.log_level = "error"; }, "log errors only");
  app.parse_complete_callback(
      [&] { mova::set_log_level(mova::parse_log_level(global.log_level)); });
  app.fallthrough();

  mova::cli::register_info(app, global);
  mova::cli::register_make_tiny(app, global);
  mova::cli::register_eval(app, global);
  mova::cli::register_generate(app, global);
  mova::cli::register_serve(app, global);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);  // prints help, or the usage error
    return code == 0 ? 0 : 2;      // every usage error is exit code 2, as documented
  } catch (const mova::Error& e) {
    std::fprintf(stderr, "mova: error: %s\n", e.what());
    return exit_code(e.kind());
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "mova: error: out of host memory\n");
    return exit_code(mova::ErrorKind::kOutOfMemory);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mova: internal error: %s\n", e.what());
    return 70;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (...) {
    std::fprintf(stderr, "mova: internal error while setting up the command line\n");
    return 70;
  }
}
