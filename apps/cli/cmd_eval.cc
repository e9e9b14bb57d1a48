// mova eval STAGE --model DIR [--in IN.safetensors] --out OUT.safetensors [--set key=value ...]
// Runs one pipeline stage on given tensors, for cross-implementation checks.
#include <cstdio>
#include <optional>

#include "api/open_device.h"
#include "commands.h"
#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "pipeline/eval_stage.h"
#include "runtime/error.h"
#include "runtime/log.h"

namespace mova::cli {

void register_eval(CLI::App& app, GlobalOptions& global) {
  std::string help =
      "Run one pipeline stage on tensors (for cross-checks with upstream)\n\nStages:";
  std::string device_stages;
  for (const auto& s : eval_stages()) {
    help += std::string("\n  ") + s.name + ": " + s.summary;
    if (s.on_device) device_stages += (device_stages.empty() ? "" : ", ") + std::string(s.name);
  }
  auto* cmd = app.add_subcommand("eval", help);
  struct Args {
    std::string stage, model, in, out, device = "cpu";
    std::optional<std::string> precision;
    std::vector<std::string> sets;
  };
  auto a = std::make_shared<Args>();
  cmd->add_option("stage", a->stage, "stage name")->required();
  cmd->add_option("--model", a->model, "checkpoint folder");
  cmd->add_option("--in", a->in, "input tensors (.safetensors)");
  cmd->add_option("--out", a->out, "output tensors (.safetensors)")->required();
  cmd->add_option("--set", a->sets, "stage option key=value (repeatable)");
  cmd->add_option("--device", a->device,
                  std::string("where the stage's model runs: ") + device_choices() +
                      " (default cpu; stages that run on a GPU so far: " + device_stages + ")");
  cmd->add_option("--precision", a->precision,
                  "a GPU's arithmetic: f32 (default here, the parity path) or bf16 (as "
                  "`mova generate` on a GPU)");
  cmd->callback([a, &global] {
    const EvalStage& stage = find_eval_stage(a->stage);
    StageParams params(a->sets);
    params.check_known(stage.options, a->stage);
    const Device device = parse_device(a->device, "--device");
    MOVA_CHECK(device.is_cpu() || stage.on_device, ErrorKind::kUnsupported, "eval ", a->stage,
               ": runs on the CPU only so far (--device ", device.str(), " was given)");
    const std::unique_ptr<Backend> backend = open_device(
        device, choose_precision(a->precision, {device}, "--precision", Precision::kF32));
    std::optional<Checkpoint> ckpt;
    if (stage.needs_model) {
      MOVA_CHECK(!a->model.empty(), ErrorKind::kInvalidArgument, "stage '", a->stage,
                 "' needs --model DIR");
      ckpt = Checkpoint::open(a->model);
    }
    TensorMap inputs;
    if (!a->in.empty()) {
      auto f = SafetensorsFile::open(a->in);
      for (const auto& t : f->tensors()) inputs[t.name] = f->tensor(t.name);
    }
    Exec ex(global.threads);
    StageContext ctx;
    ctx.checkpoint = ckpt ? &*ckpt : nullptr;
    ctx.exec = &ex;
    ctx.device = device;
    ctx.inputs = &inputs;
    ctx.params = &params;
    const TensorMap outputs = stage.run(ctx);
    SafetensorsWriter w;
    for (const auto& [name, t] : outputs) w.add(name, t);
    w.set_metadata("mova_stage", a->stage);
    w.write(a->out);
    MOVA_LOG_INFO("eval ", a->stage, ": wrote ", outputs.size(), " tensors to ", a->out);
  });
}

}  // namespace mova::cli
