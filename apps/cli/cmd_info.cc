// mova info DIR [--json]: what a checkpoint folder holds, validated from headers and configs
// only (fast on a 50 GB download). Exits non-zero when any component is absent or invalid.
#include <cstdio>

#include "commands.h"
#include "format.h"
#include "models/checkpoint.h"
#include "models/checkpoint_info.h"
#include "runtime/error.h"

namespace mova::cli {
namespace {

void print_text(const nlohmann::json& info) {
  std::printf("MOVA checkpoint: %s\n", info["path"].get<std::string>().c_str());
  std::printf("boundary_ratio: %g\n\n", info["boundary_ratio"].get<double>());
  std::printf("%-18s %-8s %9s %8s %11s  %s\n", "component", "status", "params", "tensors", "size",
              "dtypes / config");
  for (const auto& c : info["components"]) {
    const std::string status = c["status"];
    std::string params = "-", tensors = "-", size = "-", detail;
    if (c.contains("parameters")) {
      params = human_count(c["parameters"].get<double>());
      tensors = std::to_string(c["tensors"].get<int64_t>());
      size = human_bytes(c["file_bytes"].get<double>());
      for (auto it = c["bytes_by_dtype"].begin(); it != c["bytes_by_dtype"].end(); ++it)
        detail += it.key() + " " + human_bytes(it.value().get<double>()) + "  ";
    }
    if (c.contains("config")) {
      for (auto it = c["config"].begin(); it != c["config"].end(); ++it)
        detail += it.key() + "=" + it.value().dump() + " ";
    }
    std::printf("%-18s %-8s %9s %8s %11s  %s\n", c["name"].get<std::string>().c_str(),
                status.c_str(), params.c_str(), tensors.c_str(), size.c_str(), detail.c_str());
    if (c.contains("error")) {
      std::string err = c["error"];
      std::printf("    error: %s\n", err.c_str());
    }
  }
  for (const auto& e : info["consistency_errors"])
    std::printf("mismatch: %s\n", e.get<std::string>().c_str());
  std::printf("\ntotal: %s parameters, %s on disk%s\n",
              human_count(info["total_parameters"].get<double>()).c_str(),
              human_bytes(info["total_file_bytes"].get<double>()).c_str(),
              info["complete"].get<bool>() ? "" : " (INCOMPLETE or INVALID: see above)");
}

}  // namespace

void register_info(CLI::App& app, GlobalOptions& /*global*/) {
  auto* cmd = app.add_subcommand("info", "Inspect and validate a MOVA checkpoint folder");
  auto dir = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  cmd->add_option("dir", *dir, "checkpoint folder (with model_index.json)")->required();
  cmd->add_flag("--json", *json, "print machine-readable JSON");
  cmd->callback([dir, json] {
    const Checkpoint ckpt = Checkpoint::open(*dir);
    const nlohmann::json info = describe_checkpoint(ckpt);
    if (*json) {
      std::printf("%s\n", info.dump(2).c_str());
    } else {
      print_text(info);
    }
    MOVA_CHECK(info["complete"].get<bool>(), ErrorKind::kFormat, *dir,
               ": checkpoint is incomplete or invalid (see the component errors above)");
  });
}

}  // namespace mova::cli
