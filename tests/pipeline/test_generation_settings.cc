// The settings tag of a generated MP4 (generation_settings): what reproduces the clip, and where
// it ran with which arithmetic once a part ran on a GPU (bf16 and f32 clips differ visibly).
#include <gtest/gtest.h>

#include "pipeline/generate.h"

namespace mova {
namespace {

GenerateRequest request() {
  GenerateRequest r;
  r.seed = 7;
  r.steps = 3;
  r.cfg = 4.75;
  r.width = 64;
  r.height = 48;
  r.frames = 9;
  r.fps = 24;
  return r;
}

TEST(GenerationSettings, CpuRunsNameNoDevice) {
  EXPECT_EQ(generation_settings(request(), "/models/nano"),
            "mova.cpp: model nano, seed 7 (rng torch-cuda:132:2048), 3 steps, cfg 4.75, 64x48, 9 "
            "frames at 24 fps, text "
            "only");
}

TEST(GenerationSettings, TheNoiseGeneratorIsNamed) {
  GenerateRequest r = request();
  r.rng = parse_noise_rng("mova", "rng");
  EXPECT_NE(generation_settings(r, "nano").find(", seed 7 (rng mova), "), std::string::npos);
  r.rng = parse_noise_rng("torch-cuda:108", "rng");
  EXPECT_NE(generation_settings(r, "nano").find(", seed 7 (rng torch-cuda:108:2048), "),
            std::string::npos);
  r.noise_path = "/tmp/upstream_noise.safetensors";  // a noise file replaces seed and rng
  EXPECT_NE(generation_settings(r, "nano").find(", noise upstream_noise.safetensors, "),
            std::string::npos);
}

TEST(GenerationSettings, GpuRunsNameTheirPrecisionAndPlacement) {
  GenerateRequest r = request();
  r.device = Device::cuda(0);
  r.text_device = Device::cpu();
  r.vae_device = Device::cuda(1);
  r.precision = Precision::kBF16;
  EXPECT_EQ(generation_settings(r, "/models/nano/"),
            "mova.cpp: model nano, seed 7 (rng torch-cuda:132:2048), 3 steps, cfg 4.75, 64x48, 9 "
            "frames at 24 fps, text "
            "only, bf16 on GPU (denoiser cuda:0, text cpu, VAEs cuda:1)");
  r.device = r.vae_device = Device::cpu();
  r.text_device = Device::cuda(0);
  r.precision = Precision::kF32;
  EXPECT_NE(
      generation_settings(r, "nano").find(", f32 on GPU (denoiser cpu, text cuda:0, VAEs cpu)"),
      std::string::npos);
}

}  // namespace
}  // namespace mova
