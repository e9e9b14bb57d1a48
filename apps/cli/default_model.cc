#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "commands.h"
#include "runtime/error.h"
#include "runtime/log.h"

namespace mova::cli {
namespace {

namespace fs = std::filesystem;

// The folder of the running executable (Linux), or empty.
fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

bool is_model(const fs::path& dir) {
  std::error_code ec;
  return !dir.empty() && fs::exists(dir / "model_index.json", ec);
}

}  // namespace

std::string default_model() {
  if (const char* env = std::getenv("MOVA_MODEL"); env && *env) return env;
  // Installed (`cmake --install`): share/mova/models/nano beside bin/, wherever the prefix was
  // moved to. Else the source tree the binary was built from.
  const fs::path exe_dir = executable_dir();
  const fs::path installed =
      exe_dir.empty() ? fs::path() : (exe_dir / MOVA_INSTALLED_MODEL_FROM_BIN).lexically_normal();
  const fs::path source_tree(MOVA_BUNDLED_MODEL_DIR);
  for (const fs::path& dir : {installed, source_tree}) {
    if (!is_model(dir)) continue;
    MOVA_LOG_DEBUG("no --model: the bundled model at ", dir.string());
    return dir.string();
  }
  fail(ErrorKind::kInvalidArgument,
       "no --model given, $MOVA_MODEL is unset and the bundled model is not present (looked in ",
       installed.empty() ? std::string("(no executable path)") : installed.string(), " and ",
       source_tree.string(), ")");
}

}  // namespace mova::cli
