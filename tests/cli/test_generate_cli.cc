// `mova generate` end to end on the tiny checkpoint: what ffprobe sees in the MP4, decoded
// frames against the pipeline's own frames, determinism, and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "media/image_io.h"
#include "media/mp4_reader.h"
#include "models/tiny_checkpoint.h"
#include "test_util.h"

namespace mova {
namespace {
namespace fs = std::filesystem;
using test::run_cli;
using test::shell_quote;

class GenerateCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new test::TempDir;
    write_tiny_checkpoint(dir_->file("m"), {});
    RgbImage img(90, 60);  // not the output size: exercises crop_and_resize
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 7);
    write_png(dir_->file("first.png"), img);
  }
  static void TearDownTestSuite() { delete dir_; }

  static std::string file(const std::string& name) { return dir_->file(name); }
  // A small, fast job: 9 frames of 64x48, 2 steps.
  static std::string job(const std::string& out, const std::string& extra = "") {
    return "generate --model " + shell_quote(file("m")) +
           " --prompt 'a red ball bounces twice' --image " + shell_quote(file("first.png")) +
           " --frames 9 --width 64 --height 48 --steps 2 -o " + shell_quote(out) + " " + extra;
  }
  static test::TempDir* dir_;
};
test::TempDir* GenerateCli::dir_ = nullptr;

// PSNR of the two images after averaging each over `block` x `block` tiles. The tiny model's
// random weights make noise-like frames, which H.264 keeps only coarsely (full-resolution PSNR
// ~19-23 dB at crf 17); tile means are what any correct encode preserves.
double block_psnr(const RgbImage& a, const RgbImage& b, int64_t block) {
  double se = 0;
  int64_t n = 0;
  for (int64_t by = 0; by + block <= a.height; by += block)
    for (int64_t bx = 0; bx + block <= a.width; bx += block)
      for (int c = 0; c < 3; ++c) {
        double sa = 0, sb = 0;
        for (int64_t y = by; y < by + block; ++y)
          for (int64_t x = bx; x < bx + block; ++x) {
            sa += a.row(y)[x * 3 + c];
            sb += b.row(y)[x * 3 + c];
          }
        const double d = (sa - sb) / static_cast<double>(block * block);
        se += d * d;
        ++n;
      }
  const double mse = se / static_cast<double>(n);
  return mse == 0 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

TEST_F(GenerateCli, WritesPlayableMp4MatchingThePipelineFrames) {
  const std::string out = file("clip.mp4"), frames = file("frames");
  const auto r = run_cli(job(out, "--save-frames " + shell_quote(frames) + " --save-wav " +
                                      shell_quote(file("clip.wav")) + " --preview"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("denoise step 2/2"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("peak memory"), std::string::npos) << r.output;
  for (const char* stage : {"text", "condition", "denoise", "video-decode", "audio-decode", "mux"})
    EXPECT_NE(r.output.find(std::string("\n") + stage + " "), std::string::npos) << stage;

  const auto probe = test::run_command(
      "ffprobe -v error -show_entries stream=codec_name,codec_type,nb_frames,sample_rate,"
      "duration,pix_fmt,width,height -of json " +
      shell_quote(out));
  ASSERT_EQ(probe.exit_code, 0) << probe.output;
  const auto streams = nlohmann::json::parse(probe.output)["streams"];
  ASSERT_EQ(streams.size(), 2u) << probe.output;
  for (const auto& s : streams) {
    const double duration = std::stod(s["duration"].get<std::string>());
    EXPECT_NEAR(duration, 9.0 / 24.0, 1.0 / 24.0) << s.dump();
    if (s["codec_type"] == "video") {
      EXPECT_EQ(s["codec_name"], "h264");
      EXPECT_EQ(s["pix_fmt"], "yuv420p");
      EXPECT_EQ(s["nb_frames"], "9");
      EXPECT_EQ(s["width"], 64);
      EXPECT_EQ(s["height"], 48);
    } else {
      EXPECT_EQ(s["codec_name"], "aac");
      EXPECT_EQ(s["sample_rate"], "48000");
    }
  }
  // Decoded frames against the frames the pipeline produced before encoding.
  const DecodedClip clip = read_clip(out);
  ASSERT_EQ(clip.frames.size(), 9u);
  // The prompt and the settings that made the clip travel in its tags.
  EXPECT_EQ(clip.title, "a red ball bounces twice");
  EXPECT_EQ(clip.comment,
            "mova.cpp: model m, seed 42 (rng torch-cuda:132:2048), 2 steps, cfg 5, 64x48, 9 frames "
            "at 24 fps, first frame "
            "given");
  std::vector<RgbImage> pre;
  for (int i = 0; i < 9; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "frame_%05d.png", i);
    pre.push_back(read_image((fs::path(frames) / name).string()));
  }
  for (int i = 0; i < 9; ++i) {
    const double same = block_psnr(clip.frames[i], pre[i], 8);
    EXPECT_GT(same, 32.0) << "frame " << i;
    // And frame i is not some other frame: its neighbour matches clearly worse.
    EXPECT_GT(same, block_psnr(clip.frames[i], pre[(i + 1) % 9], 8) + 6.0) << "frame " << i;
  }
  EXPECT_TRUE(fs::exists(file("clip.frames.png")));
  EXPECT_TRUE(fs::exists(file("clip.audio.png")));
  EXPECT_EQ(fs::file_size(file("clip.wav")), 58u + 4u * 18000u);  // int(48000 * 9 / 24)
}

TEST_F(GenerateCli, SameSeedSameClipOtherSeedOtherClip) {
  auto wav = [&](const std::string& name, const std::string& seed) {
    const auto r = run_cli(job(
        file(name + ".mp4"), "--seed " + seed + " --save-wav " + shell_quote(file(name + ".wav")) +
                                 " --save-frames " + shell_quote(file(name))));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return read_text_file(file(name + ".wav")) + read_text_file(file(name + "/frame_00008.png"));
  };
  const std::string a = wav("a", "7"), b = wav("b", "7"), c = wav("c", "8");
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST_F(GenerateCli, TextOnlyWithoutImage) {
  const std::string out = file("t2v.mp4");
  const auto r = run_cli("generate --model " + shell_quote(file("m")) +
                         " --prompt 'waves' --frames 5 --width 32 --height 32 --steps 1 "
                         "--cfg 4.123456789 -o " +
                         shell_quote(out));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("text-only"), std::string::npos) << r.output;
  const DecodedClip clip = read_clip(out);
  EXPECT_EQ(clip.frames.size(), 5u);
  EXPECT_EQ(clip.title, "waves");
  // --no-tags: neither the prompt nor the settings.
  const std::string bare = file("bare.mp4");
  ASSERT_EQ(run_cli("generate --model " + shell_quote(file("m")) +
                    " --prompt 'waves' --frames 5 --width 32 --height 32 --steps 1 --no-tags -o " +
                    shell_quote(bare))
                .exit_code,
            0);
  const DecodedClip untagged = read_clip(bare);
  EXPECT_TRUE(untagged.title.empty()) << untagged.title;
  EXPECT_TRUE(untagged.comment.empty()) << untagged.comment;
  // Every digit of the settings kept (the comment should reproduce the clip).
  EXPECT_NE(clip.comment.find(", 1 steps, cfg 4.123456789, 32x32, 5 frames at 24 fps, text only"),
            std::string::npos)
      << clip.comment;
}

TEST_F(GenerateCli, BadInputFailsClearlyAndWritesNothing) {
  write_text_file(file("garbage.png"), "not an image at all");
  test::TempDir broken;  // a checkpoint without its audio VAE
  write_tiny_checkpoint(broken.file("m"), {});
  fs::remove_all(broken.file("m/audio_vae"));
  struct Case {
    std::string args;
    int exit_code;
    std::string message;
  };
  const std::string out = file("bad.mp4");
  const std::vector<Case> cases = {
      {job(out, "--frames 10"), 2, "--frames 10: must be 4k+1"},
      {job(out, "--width 50"), 2, "--width 50: must be a positive multiple of 16"},
      {job(out, "--height 0"), 2, "--height: Value 0 not in range"},
      {job(out, "--steps 0"), 2, "--steps: Value 0 not in range"},
      {job(out, "--cfg -3"), 2, "--cfg: Value -3 not in range"},
      {job(out, "--fps -1"), 2, "--fps: Value -1 not in range"},
      {job(out, "--frames 8001"), 2, "--frames 8001: must be 4k+1"},
      {job(out, "--width 8208"), 2, "--width 8208: must be a positive multiple of 16 up to 8192"},
      {"generate --model " + shell_quote(file("m")) + " --prompt x --image " +
           shell_quote(file("missing.png")) + " -o " + shell_quote(out),
       3, "missing.png: no such file"},
      {"generate --model " + shell_quote(file("m")) + " --prompt x --image " +
           shell_quote(file("garbage.png")) + " -o " + shell_quote(out),
       4, "garbage.png: not a PNG or JPEG"},
      {job(file("no/such/dir/out.mp4")), 3, "does not exist"},
      {"generate --model " + shell_quote(broken.file("m")) + " --prompt x -o " + shell_quote(out),
       3, "audio_vae is missing"},
      {job(out, "--noise " + shell_quote(file("missing.safetensors"))), 3,
       "missing.safetensors: no such file"},
      {job(out, "--prompt ''"), 2, "--prompt must not be empty"},
      {job(out, "--device gpu"), 2,
       "--device: unknown device 'gpu' (expected cpu, cuda or cuda:N)"},
      {job(out, "--precision fp8"), 2,
       "--precision: unknown precision 'fp8' (expected f32 or bf16)"},
      {job(out, "--precision ''"), 2, "--precision: unknown precision ''"},
      {job(out, "--rng philox"), 2,
       "--rng: unknown noise generator 'philox' (expected torch-cuda, torch-cuda:SMS, "
       "torch-cuda:SMS:THREADS_PER_SM or mova)"},
      {job(out, "--rng ''"), 2, "--rng: unknown noise generator ''"},
      {job(out, "--rng torch-cuda:0"), 2, "--rng: 'torch-cuda:0': 0 is not in [1, 65536]"},
      {job(out, "--precision bf16"), 2,
       "--precision bf16: nothing runs on a GPU, and the CPU computes in F32"},
  };
  for (const auto& c : cases) {
    const auto r = run_cli(c.args);
    EXPECT_EQ(r.exit_code, c.exit_code) << c.args << "\n" << r.output;
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.args << "\n" << r.output;
    EXPECT_FALSE(fs::exists(out)) << c.args;
  }
  for (const auto& e : fs::directory_iterator(dir_->str()))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << "left behind: " << e.path();
}

// --device cuda: without a GPU (or a CUDA build) a named error before any work and no output;
// on a GPU machine the denoiser runs there and the clip is written.
TEST_F(GenerateCli, DeviceCudaRunsTheDenoiserThereOrSaysWhy) {
  const std::string out = file("cuda.mp4");
  const bool ran = test::ran_on_cuda_or_explained(run_cli(job(out, "--device cuda")));
  EXPECT_EQ(fs::exists(out), ran);
}

// Per-component placement: a misspelt device is named with its option before anything runs;
// a GPU for the VAEs alone runs there or says what is missing, like --device.
TEST_F(GenerateCli, ComponentDevicesAreCheckedAndOpened) {
  const std::string out = file("placed.mp4");
  const auto r = run_cli(job(out, "--text-device gpu"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--text-device: unknown device 'gpu'"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("text..."), std::string::npos) << "must fail before any model runs";
  const bool ran =
      test::ran_on_cuda_or_explained(run_cli(job(out, "--device cpu --vae-device cuda:0")));
  EXPECT_EQ(fs::exists(out), ran);
}

TEST_F(GenerateCli, NoiseFileReplacesTheSeed) {
  // The job's shapes: 9 frames of 64x48 -> video [1, 16, 3, 6, 8]; 18000 samples at hop 960
  // -> audio [1, 8, 19] (the tiny DAC has 8 latent channels).
  auto write_noise = [&](const std::string& name, const Shape& video) {
    SafetensorsWriter w;
    Tensor v = Tensor::empty(video, DType::kF32), a = Tensor::empty({1, 8, 19}, DType::kF32);
    for (int64_t i = 0; i < v.numel(); ++i) v.data<float>()[i] = std::sin(0.37f * i);
    for (int64_t i = 0; i < a.numel(); ++i) a.data<float>()[i] = std::cos(0.11f * i);
    w.add("video_noise", v);
    w.add("audio_noise", a);
    w.write(file(name));
  };
  write_noise("bad_noise.safetensors", {1, 16, 3, 6, 9});
  auto r = run_cli(job(file("n.mp4"), "--noise " + shell_quote(file("bad_noise.safetensors"))));
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_NE(r.output.find("tensor video_noise has shape [1, 16, 3, 6, 9], this generation needs "
                          "[1, 16, 3, 6, 8]"),
            std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("text..."), std::string::npos) << "must fail before any model runs";
  EXPECT_FALSE(fs::exists(file("n.mp4")));

  write_noise("noise.safetensors", {1, 16, 3, 6, 8});
  for (const char* seed : {"1", "2"}) {
    r = run_cli(job(file("n.mp4"), "--noise " + shell_quote(file("noise.safetensors")) +
                                       " --seed " + seed + " --save-wav " +
                                       shell_quote(file(std::string("n") + seed + ".wav"))));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  EXPECT_EQ(read_text_file(file("n1.wav")), read_text_file(file("n2.wav")));
}

}  // namespace
}  // namespace mova

namespace mova {
namespace {

// The nano architecture (the bundled model's, before training): valid, within the 40 MB
// bundle budget, and generating at 16 kHz audio with the published 50 latent steps per second.
TEST(NanoPreset, LoadsFitsTheBundleBudgetAndGenerates) {
  test::TempDir dir;
  TinyCheckpointOptions opt;
  opt.preset = "nano";
  write_tiny_checkpoint(dir.file("nano"), opt);
  auto r = test::run_cli("info " + test::shell_quote(dir.file("nano")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("hop_length=320"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("audio_fps=50"), std::string::npos) << r.output;
  uintmax_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir.file("nano")))
    if (e.is_regular_file()) bytes += e.file_size();
  EXPECT_LE(bytes, 40u << 20);
  r = test::run_cli("generate --model " + test::shell_quote(dir.file("nano")) +
                    " --prompt 'a light beeps' --frames 9 --steps 2 -o " +
                    test::shell_quote(dir.file("n.mp4")));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const DecodedClip clip = read_clip(dir.file("n.mp4"));
  EXPECT_EQ(clip.frames.size(), 9u);
  EXPECT_EQ(clip.frames[0].width, 64);  // the preset's default size
  EXPECT_EQ(clip.sample_rate, 16000);
}

}  // namespace
}  // namespace mova
