// The checkpoint a benchmark reads: --model DIR, with --preset NAME written into it first when
// DIR is new or empty (kept for the next run; a checkpoint already in DIR is used as it is,
// whatever preset wrote it).
#pragma once

#include <filesystem>
#include <string>

#include "models/tiny_checkpoint.h"
#include "runtime/error.h"

namespace mova::bench {

inline void write_preset_if_missing(const std::string& model, const std::string& preset) {
  if (preset.empty() || std::filesystem::exists(std::filesystem::path(model) / "model_index.json"))
    return;
  // Never into a folder holding something else (a download in progress, say).
  MOVA_CHECK(!std::filesystem::exists(model) || std::filesystem::is_empty(model),
             ErrorKind::kInvalidArgument, "--model ", model,
             ": not empty and not a checkpoint; --preset writes only into a new or empty folder");
  TinyCheckpointOptions opt;
  opt.preset = preset;
  write_tiny_checkpoint(model, opt);
}

}  // namespace mova::bench
