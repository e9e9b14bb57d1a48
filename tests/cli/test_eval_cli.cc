// `mova eval`: the schedule stage end to end, and its error handling.
#include <gtest/gtest.h>

#include <functional>

#include "cli_runner.h"
#include "io/safetensors.h"
#include "models/tiny_checkpoint.h"
#include "pipeline/flow_match_scheduler.h"
#include "pipeline/noise.h"
#include "pipeline/torch_randn.h"
#include "test_util.h"

namespace mova {
namespace {
using test::run_cli;
using test::shell_quote;

class EvalCli : public ::testing::Test {
 protected:
  void SetUp() override { write_tiny_checkpoint(dir.file("m"), {}); }
  std::string model() const { return shell_quote(dir.file("m")); }
  test::TempDir dir;
};

TEST_F(EvalCli, ScheduleStageWritesPairedTimesteps) {
  const std::string out = dir.file("s.safetensors");
  const auto r =
      run_cli("eval schedule --model " + model() + " --out " + shell_quote(out) + " --set steps=7");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto f = SafetensorsFile::open(out);
  const Tensor t = f->tensor("timesteps");
  ASSERT_EQ(t.shape(), (Shape{7, 2}));
  EXPECT_EQ(t.dtype(), DType::kF32);
  SchedulerConfig cfg;  // the tiny checkpoint's scheduler: shift 5, extra_one_step
  cfg.shift = 5.0;
  cfg.extra_one_step = true;
  const auto ref = FlowMatchPairScheduler(cfg).timesteps(7);
  for (int64_t i = 0; i < 7; ++i) {
    EXPECT_EQ(t.item_f32({i, 0}), ref[i]);
    EXPECT_EQ(t.item_f32({i, 1}), ref[i]);
  }
  const Tensor expert = f->tensor("expert");
  EXPECT_EQ(expert.item_f32({0}), 1.0f);
  EXPECT_EQ(expert.item_f32({6}), 2.0f);
}

// The noise stage writes what mova generate starts from, in its --noise file format.
TEST_F(EvalCli, NoiseStageWritesGeneratesStartingNoise) {
  const std::string out = dir.file("n.safetensors");
  auto r = run_cli("eval noise --model " + model() + " --out " + shell_quote(out) +
                   " --set seed=7 --set frames=9 --set width=64 --set height=48");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  auto f = SafetensorsFile::open(out);
  const Tensor video = f->tensor("video_noise");
  const Tensor audio = f->tensor("audio_noise");
  ASSERT_EQ(video.shape(), (Shape{1, 16, 3, 6, 8}));
  TorchCudaRandn torch(7, TorchCudaGpu{});
  const Tensor v = torch.randn(video.shape());
  const Tensor a = torch.randn(audio.shape());
  for (int64_t i = 0; i < v.numel(); ++i) ASSERT_EQ(video.data<float>()[i], v.data<float>()[i]);
  for (int64_t i = 0; i < a.numel(); ++i) ASSERT_EQ(audio.data<float>()[i], a.data<float>()[i]);

  r = run_cli("eval noise --model " + model() + " --out " + shell_quote(out) +
              " --set seed=7 --set rng=mova --set frames=9 --set width=64 --set height=48");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(SafetensorsFile::open(out)->tensor("audio_noise").data<float>()[3],
            seeded_noise(audio.shape(), 7, 1).data<float>()[3]);

  r = run_cli("eval noise --model " + model() + " --out " + shell_quote(out) + " --set seed=-1");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--set seed=-1: must be an integer in [0, 2^64)"), std::string::npos)
      << r.output;
  r = run_cli("eval noise --model " + model() + " --out " + shell_quote(out) + " --set rng=x");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--set rng: unknown noise generator 'x'"), std::string::npos) << r.output;
}

// --device: a bad spelling and a CPU-only stage are named errors. dit-forward on cuda either
// says why it cannot run here (a build without CUDA, or no GPU: exit 6) or, on a GPU machine,
// gives the CPU's velocity to the F32 path's 1e-4.
TEST_F(EvalCli, DeviceOption) {
  const std::string out = dir.file("o.safetensors");
  auto r =
      run_cli("eval schedule --model " + model() + " --out " + shell_quote(out) + " --device gpu0");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--device: unknown device 'gpu0' (expected cpu, cuda or cuda:N)"),
            std::string::npos)
      << r.output;
  r = run_cli("eval schedule --model " + model() + " --out " + shell_quote(out) +
              " --precision bf16");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--precision bf16: nothing runs on a GPU"), std::string::npos)
      << r.output;
  r = run_cli("eval schedule --model " + model() + " --out " + shell_quote(out) +
              " --device cuda:1");
  EXPECT_EQ(r.exit_code, 6) << r.output;
  EXPECT_NE(r.output.find("eval schedule: runs on the CPU only so far (--device cuda:1 was given)"),
            std::string::npos)
      << r.output;

  // A stage's model on a GPU matches the CPU, or the run says what is missing: a tower, and
  // the audio VAE (the VAEs and the text encoder take --device too).
  auto compare = [&](const std::string& stage, const std::string& output,
                     const std::function<void(SafetensorsWriter&)>& inputs) {
    SafetensorsWriter in;
    inputs(in);
    in.write(dir.file("in.safetensors"));
    const std::string args = "eval " + stage + " --model " + model() + " --in " +
                             shell_quote(dir.file("in.safetensors")) + " --out ";
    auto run = run_cli(args + shell_quote(dir.file("cpu.safetensors")) + " --device cpu");
    ASSERT_EQ(run.exit_code, 0) << run.output;
    if (test::ran_on_cuda_or_explained(run_cli(args + shell_quote(out) + " --device cuda"))) {
      const double err =
          test::max_rel_error(SafetensorsFile::open(out)->tensor(output),
                              SafetensorsFile::open(dir.file("cpu.safetensors"))->tensor(output));
      EXPECT_LE(err, 1e-4) << stage;
    }
  };
  compare("dit-forward --set component=audio_dit", "velocity", [](SafetensorsWriter& in) {
    in.add("x", Tensor::from_vector({1, 8, 5}, test::random_vector(40, 1, -2, 2)));
    in.add("timestep", Tensor::from_vector({1}, {300.0f}));
    in.add("context", Tensor::from_vector({1, 4, 48}, test::random_vector(192, 2)));
  });
  compare("audio-decode", "audio", [](SafetensorsWriter& in) {
    in.add("latents", Tensor::from_vector({1, 8, 5}, test::random_vector(40, 3, -2, 2)));
  });
}

TEST_F(EvalCli, Errors) {
  const std::string out = dir.file("o.safetensors");
  auto r = run_cli("eval nonsense --model " + model() + " --out " + shell_quote(out));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown stage 'nonsense' (available: preprocess-image, schedule"),
            std::string::npos)
      << r.output;
  r = run_cli("eval schedule --model " + model() + " --out " + shell_quote(out) + " --set stpes=3");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--set stpes: not an option of stage 'schedule' (accepted: steps)"),
            std::string::npos)
      << r.output;
  r = run_cli("eval schedule --model " + model() + " --out " + shell_quote(out) + " --set steps=x");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("expected an integer"), std::string::npos) << r.output;
  r = run_cli("eval schedule --out " + shell_quote(out));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("needs --model"), std::string::npos) << r.output;
  r = run_cli("eval schedule --model " + model() + " --out /nonexistent-dir/o.safetensors");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.output.find("/nonexistent-dir/o.safetensors"), std::string::npos) << r.output;
  EXPECT_FALSE(std::filesystem::exists(out));  // nothing half-written by the failed runs
}

}  // namespace
}  // namespace mova
