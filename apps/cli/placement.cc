#include "placement.h"

#include <cmath>

#include "api/open_device.h"

namespace mova::cli {

void PlacementOptions::add_to(CLI::App& cmd) {
  cmd.add_option("--device", device,
                 std::string("where the models run: ") + device_choices() + " (default cpu)");
  cmd.add_option("--text-device", text_device,
                 "where the text encoder runs (default: --device), e.g. cpu to keep a GPU's "
                 "memory for the denoiser");
  cmd.add_option("--vae-device", vae_device,
                 "where the video and audio VAEs run (default: --device)");
  cmd.add_option("--precision", precision,
                 "a GPU's arithmetic: bf16 (default: GEMM and attention operands rounded to "
                 "BF16, F32 accumulation, tensor cores) or f32 (strict F32, the CPU's results "
                 "to ~1e-5, many times slower); the CPU always computes in F32");
  cmd.add_option("--device-weights-gib", device_weights_gib,
                 "keep at most this much of the denoiser's weights on its device, streaming "
                 "the rest from host memory each step (a model larger than the GPU; slower). "
                 "Default 0: as many as fit (when the device runs out of memory, weights are "
                 "given back and streamed from then on)")
      ->check(CLI::NonNegativeNumber);
}

Placement PlacementOptions::resolve() const {
  Placement p;
  p.device = parse_device(device, "--device");
  p.text_device = text_device.empty() ? p.device : parse_device(text_device, "--text-device");
  p.vae_device = vae_device.empty() ? p.device : parse_device(vae_device, "--vae-device");
  p.precision = choose_precision(precision, {p.device, p.text_device, p.vae_device}, "--precision",
                                 Precision::kBF16);
  // Rounded up: a budget under 1 MiB must not truncate to 0, which means "no limit".
  p.device_weights_mib = static_cast<int64_t>(std::ceil(device_weights_gib * 1024.0));
  return p;
}

}  // namespace mova::cli
