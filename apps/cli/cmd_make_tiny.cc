// mova make-tiny OUT_DIR [--seed N] [--dtype bf16|f32|f16]: a complete MOVA checkpoint in the
// published layout with tiny dims and seeded random weights (for tests and demos).
#include <filesystem>

#include "commands.h"
#include "models/tiny_checkpoint.h"
#include "runtime/error.h"

namespace mova::cli {

void register_make_tiny(CLI::App& app, GlobalOptions& /*global*/) {
  auto* cmd = app.add_subcommand("make-tiny", "Write a tiny random MOVA checkpoint (for tests)");
  auto dir = std::make_shared<std::string>();
  auto seed = std::make_shared<uint64_t>(0);
  auto dtype = std::make_shared<std::string>("bf16");
  auto force = std::make_shared<bool>(false);
  auto preset = std::make_shared<std::string>("tiny");
  cmd->add_option("out_dir", *dir, "folder to create")->required();
  cmd->add_option("--seed", *seed, "random seed for the weights")->capture_default_str();
  cmd->add_option("--dtype", *dtype, "weight dtype")
      ->check(CLI::IsMember({"bf16", "f32", "f16"}))
      ->capture_default_str();
  cmd->add_flag("--force", *force, "overwrite an existing non-empty folder");
  cmd->add_option("--preset", *preset,
                  "tiny (tests), mid (benchmarks: head_dim 128), nano (the nano model's "
                  "architecture), published-vaes or published-text (tiny DiTs; both VAEs / the "
                  "UMT5-XXL encoder at published size), published-layer (DiTs and bridge at "
                  "published width, one layer per tower)")
      ->check(CLI::IsMember(
          {"tiny", "mid", "nano", "published-vaes", "published-text", "published-layer"}))
      ->capture_default_str();
  cmd->callback([=] {
    std::error_code ec;
    const bool non_empty =
        std::filesystem::is_directory(*dir, ec) && !std::filesystem::is_empty(*dir, ec);
    MOVA_CHECK(!non_empty || *force, ErrorKind::kInvalidArgument, *dir,
               " exists and is not empty (use --force to overwrite)");
    TinyCheckpointOptions opt;
    opt.seed = *seed;
    opt.preset = *preset;
    opt.dtype = *dtype == "f32" ? DType::kF32 : *dtype == "f16" ? DType::kF16 : DType::kBF16;
    write_tiny_checkpoint(*dir, opt);
  });
}

}  // namespace mova::cli
