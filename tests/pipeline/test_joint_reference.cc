// The joint denoiser (both towers + bridge) and the CFG sampling loop through `mova eval`,
// against the float64 PyTorch reference tools/reference/mova_reference.py on the tiny
// checkpoint. Metric: max|ours − ref| / max|ref| per output ≤ 1e-4.
#include <gtest/gtest.h>

#include <cstdio>

#include "cli/cli_runner.h"
#include "io/safetensors.h"
#include "json_file.h"
#include "models/tiny_checkpoint.h"
#include "pipeline/flow_match_scheduler.h"
#include "python_reference.h"
#include "test_util.h"

namespace mova {
namespace {

Tensor rnd(const Shape& s, uint32_t seed) {
  return Tensor::from_vector(s, test::random_vector(shape_numel(s), seed, -2, 2));
}

// A text context whose rows past `real` are zero, as the pipeline pads prompts.
Tensor context(int64_t len, int64_t real, uint32_t seed) {
  auto v = test::random_vector(len * 48, seed, -1, 1);
  std::fill(v.begin() + real * 48, v.end(), 0.0f);
  return Tensor::from_vector({1, len, 48}, v);
}

class JointReference : public ::testing::Test {
 protected:
  void SetUp() override { write_tiny_checkpoint(dir.file("m"), {}); }

  void run_and_compare(const std::string& stage, const SafetensorsWriter& in,
                       const std::string& ours_args, const std::string& ref_args,
                       const std::vector<std::string>& outputs) {
    in.write(dir.file("in.safetensors"));
    const std::string io = " --model " + dir.file("m") + " --in " + dir.file("in.safetensors");
    const auto r = test::run_cli("-q eval " + stage + io + " --out " +
                                 dir.file("ours.safetensors") + " " + ours_args);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_TRUE(
        test::run_reference("tools/reference/mova_reference.py",
                            stage + io + " --out " + dir.file("ref.safetensors") + " " + ref_args));
    auto ours = SafetensorsFile::open(dir.file("ours.safetensors"));
    auto ref = SafetensorsFile::open(dir.file("ref.safetensors"));
    for (const auto& name : outputs) {
      const Tensor a = ours->tensor(name), b = ref->tensor(name);
      ASSERT_EQ(a.shape(), b.shape()) << name;
      const double rel = test::max_rel_error(a, b);
      EXPECT_LE(rel, 1e-4) << stage << " " << name;
      std::printf("[ measure  ] %s %s %s: max rel error %.3g\n", stage.c_str(), ours_args.c_str(),
                  name.c_str(), rel);
    }
  }

  test::TempDir dir;
};

TEST_F(JointReference, DenoiseStepBothExperts) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  for (int expert : {1, 2}) {
    SafetensorsWriter in;
    // Text length 9 and audio length 7: neither is a default.
    in.add("video_latents", rnd({1, 16, 3, 4, 6}, 1));
    in.add("video_condition", rnd({1, 20, 3, 4, 6}, 2));
    in.add("audio_latents", rnd({1, 8, 7}, 3));
    in.add("context", context(9, 5, 4));
    in.add("timestep", Tensor::from_vector({1}, {950.0f}));
    in.add("audio_timestep", Tensor::from_vector({1}, {870.0f}));
    const std::string e = std::to_string(expert);
    run_and_compare("denoise-step", in, "--set expert=" + e + " --set fps=16",
                    "--expert " + e + " --fps 16", {"video_velocity", "audio_velocity"});
  }
}

// Upstream's alternative bridge time axis (off in the published config): latent frame f >= 1
// at video frame 4f - 3 instead of 4f. Four latent frames, so frames 1..3 move.
TEST_F(JointReference, DenoiseStepWithFirstFrameBiasInRope) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  SafetensorsWriter in;
  in.add("video_latents", rnd({1, 16, 4, 2, 4}, 14));
  in.add("video_condition", rnd({1, 20, 4, 2, 4}, 15));
  in.add("audio_latents", rnd({1, 8, 10}, 16));
  in.add("context", context(5, 5, 17));
  in.add("timestep", Tensor::from_vector({1}, {700.0f}));
  in.add("audio_timestep", Tensor::from_vector({1}, {700.0f}));
  const std::vector<std::string> outputs = {"video_velocity", "audio_velocity"};
  run_and_compare("denoise-step", in, "--set expert=2 --set fps=16", "--expert 2 --fps 16",
                  outputs);
  ASSERT_EQ(
      std::rename(dir.file("ours.safetensors").c_str(), dir.file("unbiased.safetensors").c_str()),
      0);
  test::edit_json_file(dir.file("m") + "/dual_tower_bridge/config.json",
                       [](nlohmann::json& j) { j["apply_first_frame_bias_in_rope"] = true; });
  run_and_compare("denoise-step", in, "--set expert=2 --set fps=16", "--expert 2 --fps 16",
                  outputs);
  // The flag must have moved the result, or the comparison above proves nothing about it.
  const auto biased = SafetensorsFile::open(dir.file("ours.safetensors"));
  const auto unbiased = SafetensorsFile::open(dir.file("unbiased.safetensors"));
  for (const auto& name : outputs)
    EXPECT_GT(test::max_rel_error(biased->tensor(name), unbiased->tensor(name)), 1e-3) << name;
}

// Upstream's forward_dual_tower_dit runs the video tower's blocks past the shared depth but
// never the audio tower's: an audio DiT deeper than the video DiT (not the published layout:
// 40 video, 30 audio blocks) has its extra blocks ignored. The tiny video tower has 4 blocks and
// the audio tower 3. A 4th audio block must change the audio output (it runs); a 5th must then
// change nothing. The engine alone shows that; the reference, when present, is compared too.
TEST_F(JointReference, AudioBlocksPastTheVideoTowerAreNotRun) {
  const std::string audio = dir.file("m") + "/audio_dit";
  const std::string weights = audio + "/diffusion_pytorch_model.safetensors";
  std::vector<std::pair<std::string, Tensor>> original;
  {
    const auto file = SafetensorsFile::open(weights);
    for (const TensorInfo& t : file->tensors())
      original.emplace_back(t.name, file->tensor(t.name).clone());
  }
  // The audio DiT with blocks 3.. `layers`-1 added: copies of block 0 with their weights scaled,
  // so that running one changes the result.
  const auto deepen = [&](int layers) {
    SafetensorsWriter w;
    for (const auto& [name, tensor] : original) {
      w.add(name, tensor);
      if (name.rfind("blocks.0.", 0) != 0) continue;
      for (int b = 3; b < layers; ++b) {
        const Tensor scaled = tensor.to(DType::kF32).clone();  // never the mapped file's bytes
        for (int64_t i = 0; i < scaled.numel(); ++i) scaled.data<float>()[i] *= 0.5f * b;
        w.add("blocks." + std::to_string(b) + name.substr(8), scaled.to(tensor.dtype()));
      }
    }
    w.write(weights);
    test::edit_json_file(audio + "/config.json",
                         [&](nlohmann::json& j) { j["num_layers"] = layers; });
  };

  SafetensorsWriter in;
  in.add("video_latents", rnd({1, 16, 2, 4, 4}, 18));
  in.add("video_condition", rnd({1, 20, 2, 4, 4}, 19));
  in.add("audio_latents", rnd({1, 8, 9}, 20));
  in.add("context", context(6, 6, 21));
  in.add("timestep", Tensor::from_vector({1}, {800.0f}));
  in.add("audio_timestep", Tensor::from_vector({1}, {640.0f}));
  in.write(dir.file("in.safetensors"));
  const auto ours = [&](const std::string& name) {
    const auto r = test::run_cli("-q eval denoise-step --model " + dir.file("m") + " --in " +
                                 dir.file("in.safetensors") + " --out " + dir.file(name) +
                                 " --set expert=1 --set fps=24");
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return SafetensorsFile::open(dir.file(name));
  };
  const auto three = ours("three.safetensors");
  deepen(4);
  const auto four = ours("four.safetensors");
  deepen(5);
  const auto five = ours("five.safetensors");
  EXPECT_GT(test::max_rel_error(four->tensor("audio_velocity"), three->tensor("audio_velocity")),
            1e-3);
  for (const char* name : {"video_velocity", "audio_velocity"})
    EXPECT_EQ(test::max_rel_error(five->tensor(name), four->tensor(name)), 0.0) << name;

  if (test::reference_python_available())
    run_and_compare("denoise-step", in, "--set expert=1 --set fps=24", "--expert 1 --fps 24",
                    {"video_velocity", "audio_velocity"});
}

TEST_F(JointReference, FiveStepSampleWithCfgAndExpertSwitch) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  SchedulerConfig tiny_sched;  // as make-tiny writes it
  tiny_sched.shift = 5.0;
  tiny_sched.extra_one_step = true;
  const FlowMatchPairScheduler sched(tiny_sched);
  const int64_t sw = sched.expert_switch_step(sched.timesteps(5), 0.9);
  ASSERT_GT(sw, 0);
  ASSERT_LT(sw, 5);  // the run below uses both experts
  SafetensorsWriter in;
  in.add("video_noise", rnd({1, 16, 2, 4, 4}, 5));
  in.add("video_condition", rnd({1, 20, 2, 4, 4}, 6));
  in.add("audio_noise", rnd({1, 8, 11}, 7));
  in.add("context", context(6, 4, 8));
  in.add("negative_context", context(8, 2, 9));
  run_and_compare("sample", in, "--set steps=5 --set cfg=5 --set fps=24",
                  "--steps 5 --cfg 5 --fps 24", {"video_latents", "audio_latents"});
}

TEST_F(JointReference, SampleWithoutGuidanceNeedsNoNegativePrompt) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  SafetensorsWriter in;
  in.add("video_noise", rnd({1, 16, 1, 2, 2}, 10));
  in.add("video_condition", rnd({1, 20, 1, 2, 2}, 11));
  in.add("audio_noise", rnd({1, 8, 3}, 12));
  in.add("context", context(4, 4, 13));
  run_and_compare("sample", in, "--set steps=2 --set cfg=1", "--steps 2 --cfg 1",
                  {"video_latents", "audio_latents"});
}

}  // namespace
}  // namespace mova
