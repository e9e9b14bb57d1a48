#include <cstdlib>
#include <filesystem>

#include "commands.h"
#include "runtime/error.h"

namespace mova::cli {

std::string default_model() {
  if (const char* env = std::getenv("MOVA_MODEL"); env && *env) return env;
  const std::filesystem::path bundled(MOVA_BUNDLED_MODEL_DIR);
  MOVA_CHECK(std::filesystem::exists(bundled / "model_index.json"), ErrorKind::kInvalidArgument,
             "no --model given, $MOVA_MODEL is unset and the bundled model (", bundled.string(),
             ") is not present");
  return bundled.string();
}

}  // namespace mova::cli
