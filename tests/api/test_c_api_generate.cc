// Generation through the public C API: defaults, progress and abort callbacks, clip access,
// and that invalid parameters fail before any stage runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "media/mp4_writer.h"
#include "models/checkpoint.h"
#include "models/tiny_checkpoint.h"
#include "mova.h"
#include "pipeline/torch_randn.h"
#include "test_util.h"

namespace mova {
namespace {

struct Events {
  std::vector<std::string> stages;  // each stage start
  int64_t steps_seen = 0;
  int abort_after_steps = -1;  // -1: never abort
};

void on_progress(const char* stage, int64_t step, int64_t, double secs, void* user) {
  auto* e = static_cast<Events*>(user);
  if (step > 0) ++e->steps_seen;
  if (step == 0 && secs == 0.0) e->stages.emplace_back(stage);
}

int should_abort(void* user) {
  auto* e = static_cast<Events*>(user);
  return e->abort_after_steps >= 0 && e->steps_seen >= e->abort_after_steps;
}

class CApiGenerate : public ::testing::Test {
 protected:
  void SetUp() override {
    write_tiny_checkpoint(dir.file("m"), {});
    ASSERT_EQ(mova_model_open(dir.file("m").c_str(), &model), MOVA_OK) << mova_last_error();
    mova_generate_params_init(&p);
    p.prompt = "a bell rings";
    p.frames = 5;
    p.width = 32;
    p.height = 32;
    p.steps = 3;
    p.progress = on_progress;
    p.should_abort = should_abort;
    p.user_data = &events;
  }
  void TearDown() override { mova_model_close(model); }
  test::TempDir dir;
  mova_model* model = nullptr;
  mova_generate_params p{};
  Events events;
};

TEST_F(CApiGenerate, DefaultsAreUpstreams) {
  mova_generate_params d;
  mova_generate_params_init(&d);
  EXPECT_EQ(d.seed, 42u);
  EXPECT_LT(d.cfg, 0.0);  // "use the default" (5.0)
  EXPECT_EQ(d.frames, 0);
  EXPECT_EQ(d.prompt, nullptr);
  EXPECT_EQ(d.negative_prompt, nullptr);
  EXPECT_EQ(d.rng, nullptr);  // upstream's torch.randn on an H100/H200
}

struct ClipBytes {
  std::vector<uint8_t> frames;
  std::vector<float> audio;
  bool operator==(const ClipBytes&) const = default;
};

ClipBytes generate_bytes(mova_model* model, const mova_generate_params& p) {
  mova_clip* clip = nullptr;
  EXPECT_EQ(mova_generate(model, &p, &clip), MOVA_OK) << mova_last_error();
  ClipBytes b;
  if (!clip) return b;
  const mova_clip_info info = mova_clip_get_info(clip);
  for (int32_t i = 0; i < info.frames; ++i) {
    const uint8_t* f = mova_clip_frame(clip, i);
    b.frames.insert(b.frames.end(), f, f + int64_t{info.width} * info.height * 3);
  }
  b.audio.assign(mova_clip_audio(clip), mova_clip_audio(clip) + info.samples);
  mova_clip_free(clip);
  return b;
}

// The default noise is torch.randn's on CUDA after torch.manual_seed(seed), video latents
// first: the same clip as those two tensors given as a noise file.
TEST_F(CApiGenerate, TheSeedBecomesUpstreamsTorchNoise) {
  p.progress = nullptr;
  p.should_abort = nullptr;
  const ClipBytes by_seed = generate_bytes(model, p);

  const Checkpoint ck = Checkpoint::open(dir.file("m"));
  const int64_t z = ck.video_vae_config().z_dim;
  const DacConfig dac = ck.audio_vae_config();
  const int64_t samples = audio_samples_for_frames(5, 24.0, static_cast<int>(dac.sample_rate));
  TorchCudaRandn torch(42, TorchCudaGpu{});
  SafetensorsWriter w;
  w.add("video_noise", torch.randn({1, z, 2, 4, 4}));
  w.add("audio_noise",
        torch.randn({1, dac.latent_channels(), (samples - 1) / dac.hop_length() + 1}));
  w.write(dir.file("noise.safetensors"));
  const std::string noise = dir.file("noise.safetensors");
  p.noise_path = noise.c_str();
  EXPECT_TRUE(generate_bytes(model, p) == by_seed);

  p.noise_path = nullptr;
  p.rng = "mova";  // this engine's own stream: another sample
  EXPECT_FALSE(generate_bytes(model, p) == by_seed);
  p.rng = "torch-cuda:8:1024";  // the tensors are too small for the GPU to matter
  EXPECT_TRUE(generate_bytes(model, p) == by_seed);
}

TEST_F(CApiGenerate, GeneratesWithProgressAndWritesMp4) {
  mova_clip* clip = nullptr;
  ASSERT_EQ(mova_generate(model, &p, &clip), MOVA_OK) << mova_last_error();
  EXPECT_EQ(events.stages, (std::vector<std::string>{"text", "condition", "denoise", "video-decode",
                                                     "audio-decode"}));
  EXPECT_EQ(events.steps_seen, 3);
  const mova_clip_info info = mova_clip_get_info(clip);
  EXPECT_EQ(info.width, 32);
  EXPECT_EQ(info.height, 32);
  EXPECT_EQ(info.frames, 5);
  EXPECT_EQ(info.fps, 24.0);
  EXPECT_EQ(info.sample_rate, 48000);
  EXPECT_EQ(info.samples, 10000);  // int(48000 * 5 / 24)
  ASSERT_NE(mova_clip_frame(clip, 4), nullptr);
  EXPECT_EQ(mova_clip_frame(clip, 5), nullptr);
  EXPECT_EQ(mova_clip_frame(clip, -1), nullptr);
  ASSERT_NE(mova_clip_audio(clip), nullptr);
  EXPECT_EQ(mova_clip_stage_count(clip), 5);
  EXPECT_STREQ(mova_clip_stage_name(clip, 2), "denoise");
  EXPECT_GT(mova_clip_stage_seconds(clip, 2), 0.0);
  EXPECT_EQ(mova_clip_stage_device_peak_bytes(clip, 2), -1);  // on the CPU: no GPU memory
  EXPECT_EQ(mova_clip_stage_name(clip, 5), nullptr);
  EXPECT_EQ(mova_clip_stage_device_peak_bytes(clip, 5), -1);
  EXPECT_EQ(mova_clip_write_mp4(clip, dir.file("c.mp4").c_str()), MOVA_OK) << mova_last_error();
  EXPECT_GT(std::filesystem::file_size(dir.file("c.mp4")), 0u);
  mova_clip_free(clip);
}

TEST_F(CApiGenerate, AbortStopsBetweenSteps) {
  events.abort_after_steps = 1;
  mova_clip* clip = reinterpret_cast<mova_clip*>(0x1);
  EXPECT_EQ(mova_generate(model, &p, &clip), MOVA_ERR_ABORTED);
  EXPECT_EQ(clip, nullptr);
  EXPECT_EQ(events.steps_seen, 1);  // stopped right after the first step
  EXPECT_NE(std::string(mova_last_error()).find("aborted"), std::string::npos);
}

TEST_F(CApiGenerate, InvalidParamsFailBeforeAnyStage) {
  mova_clip* clip = nullptr;
  p.frames = 6;
  EXPECT_EQ(mova_generate(model, &p, &clip), MOVA_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mova_last_error()).find("--frames 6"), std::string::npos);
  p.frames = 5;
  p.image_path = "/nonexistent.png";
  EXPECT_EQ(mova_generate(model, &p, &clip), MOVA_ERR_IO);
  p.image_path = nullptr;
  p.device = "gpu";
  EXPECT_EQ(mova_generate(model, &p, &clip), MOVA_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mova_last_error()).find("device: unknown device 'gpu'"), std::string::npos);
  p.device = nullptr;  // the CPU
  p.vae_device = "cuda:x";
  EXPECT_EQ(mova_generate(model, &p, &clip), MOVA_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mova_last_error()).find("vae_device: unknown device 'cuda:x'"),
            std::string::npos);
  p.vae_device = nullptr;
  p.device_weights_mib = -1;
  EXPECT_EQ(mova_generate(model, &p, &clip), MOVA_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mova_last_error()).find("device_weights_mib -1 must be >= 0"),
            std::string::npos);
  p.device_weights_mib = 0;
  p.precision = "fp16";
  EXPECT_EQ(mova_generate(model, &p, &clip), MOVA_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mova_last_error()).find("precision: unknown precision 'fp16'"),
            std::string::npos);
  p.precision = "bf16";  // everything on the CPU, which computes in F32
  EXPECT_EQ(mova_generate(model, &p, &clip), MOVA_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mova_last_error()).find("precision bf16: nothing runs on a GPU"),
            std::string::npos);
  p.precision = "f32";
  p.rng = "torch-cuda:x";
  EXPECT_EQ(mova_generate(model, &p, &clip), MOVA_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(mova_last_error()).find("rng: unknown noise generator 'torch-cuda:x'"),
            std::string::npos);
  p.rng = nullptr;
  p.prompt = nullptr;
  EXPECT_EQ(mova_generate(model, &p, &clip), MOVA_ERR_INVALID_ARGUMENT);
  EXPECT_TRUE(events.stages.empty());
  EXPECT_EQ(mova_generate(nullptr, &p, &clip), MOVA_ERR_INVALID_ARGUMENT);
}

}  // namespace
}  // namespace mova
