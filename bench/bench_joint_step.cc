// One joint denoising step with CFG (two full passes of video expert + audio DiT + bridge) on a
// random checkpoint ("mid" by default: head_dim 128 like the published model), reporting wall
// time, achieved GFLOP/s in GEMMs and in attention (CPU), and peak memory. The text side is
// prepared first, as the sampler does once per prompt and expert, and timed apart.
//   build/bin/bench_joint_step [--model DIR] [--preset NAME] [--frames T] [--height H]
//       [--width W] [--audio L] [--device cpu|cuda[:N]] [--precision f32|bf16]
//       [--device-weights-mib M]   (keep at most M MiB of weights on the device: streaming;
//                                   the step is then timed with and without weight prefetch)
//       [--chunk-tokens N]   (tokens per chunk in the DiT blocks and the bridge; 0: whole
//                             passes, no chunks; default: the models' own, row_chunks.h)
// --preset alone writes the preset to a temporary folder, removed at the end; with --model DIR
// too, it is written there when DIR is new or empty and kept for the next run (a checkpoint
// already in DIR is used as it is, whatever preset wrote it).
// Sizes are latent sizes: video [1, 16, T, H, W] -> T·(H/2)·(W/2) tokens; audio L tokens.
// The published 360p clip (193 frames) is --frames 49 --height 44 --width 80 --audio 402
// (43,120 video tokens); with --preset published-layer one layer per tower at published width.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>

#include "api/open_device.h"
#include "bench_checkpoint.h"
#include "models/checkpoint.h"
#include "pipeline/joint_denoiser.h"
#include "runtime/log.h"
#include "runtime/memory_stats.h"
#include "runtime/profile.h"

namespace {

mova::Tensor random(const mova::Shape& s, uint32_t seed) {
  mova::Tensor t = mova::Tensor::empty(s, mova::DType::kF32);
  uint32_t x = seed * 2654435761u + 1;
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = static_cast<float>(x) / 4294967296.0f * 2.0f - 1.0f;
  }
  return t;
}

double peak_rss_mib() {
  return static_cast<double>(mova::peak_rss_bytes()) / (1 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, preset, device_name = "cpu", precision = "f32";
  int64_t T = 5, H = 32, W = 32, L = 200;
  double weights_mib = 0;     // device weight budget (0: keep every weight there)
  int64_t chunk_tokens = -1;  // -1: the models' default; 0: no chunks
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--model")
      model = v;
    else if (k == "--preset")
      preset = v;
    else if (k == "--device")
      device_name = v;
    else if (k == "--precision")
      precision = v;
    else if (k == "--frames")
      T = std::atoll(v);
    else if (k == "--height")
      H = std::atoll(v);
    else if (k == "--width")
      W = std::atoll(v);
    else if (k == "--audio")
      L = std::atoll(v);
    else if (k == "--device-weights-mib")
      weights_mib = std::atof(v);
    else if (k == "--chunk-tokens") {
      char* end = nullptr;
      chunk_tokens = std::strtoll(v, &end, 10);
      if (end == v || *end != '\0' || chunk_tokens < 0) {
        std::fprintf(stderr, "--chunk-tokens %s: expected 0 (whole passes) or a token count\n", v);
        return 2;
      }
    } else {
      std::fprintf(stderr, "unknown option %s\n", argv[i]);
      return 2;
    }
  }
  // A temporary checkpoint goes when the bench ends, also by an error.
  struct RemovedAtExit {
    std::filesystem::path path;
    ~RemovedAtExit() {
      std::error_code ignored;
      if (!path.empty()) std::filesystem::remove_all(path, ignored);
    }
  } tmp;
  try {
    mova::set_log_level(mova::LogLevel::kWarn);
    if (model.empty()) {
      if (preset.empty()) preset = "mid";
      tmp.path = std::filesystem::temp_directory_path() /
                 ("mova_bench_" + preset + "_" + std::to_string(getpid()));
      model = tmp.path.string();
    }
    const mova::Device device = mova::parse_device(device_name, "--device");
    const auto backend = mova::open_device(  // before the preset: a missing GPU needs none written
        device, mova::choose_precision(precision, {device}, "--precision", mova::Precision::kF32));
    mova::bench::write_preset_if_missing(model, preset);
    const mova::Checkpoint ckpt = mova::Checkpoint::open(model);
    mova::JointDenoiser denoiser(ckpt, device, static_cast<uint64_t>(weights_mib * (1 << 20)));
    if (chunk_tokens >= 0)
      denoiser.set_chunk_tokens(chunk_tokens > 0 ? chunk_tokens
                                                 : std::numeric_limits<int64_t>::max());
    const bool streamed = backend && weights_mib > 0;
    const int64_t text_dim = ckpt.video_dit_config(mova::Component::kVideoDit).text_dim;
    const int64_t audio_ch = ckpt.audio_dit_config().in_dim;
    mova::Exec ex;
    const mova::Tensor video = random({1, 16, T, H, W}, 1), cond = random({1, 20, T, H, W}, 2);
    const mova::Tensor audio = random({1, audio_ch, L}, 3);
    const mova::Tensor ctx = random({1, 512, text_dim}, 4), neg = random({1, 512, text_dim}, 5);

    denoiser.step(ex, 1, video, cond, audio, ctx, 900.0f, 900.0f, 24.0);  // warm-up (page-in)
    mova::profile::enable(true);
    mova::profile::reset();
    // As the sampler runs it: the text side is prepared once per prompt and expert (timed
    // apart), then each step's two passes reuse it.
    const auto t_text = std::chrono::steady_clock::now();
    const mova::JointDenoiser::Text text = denoiser.prepare_text(ex, 1, ctx);
    const mova::JointDenoiser::Text negative_text = denoiser.prepare_text(ex, 1, neg);
    const double text_secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t_text).count();
    // Streamed weights are fetched ahead from the second pass in one order on: one untimed pass
    // records the order the timed ones repeat.
    if (streamed) denoiser.step(ex, text, video, cond, audio, 900.0f, 900.0f, 24.0);
    const auto cfg_step = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      denoiser.step(ex, text, video, cond, audio, 900.0f, 900.0f, 24.0);
      denoiser.step(ex, negative_text, video, cond, audio, 900.0f, 900.0f, 24.0);
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    mova::profile::reset();
    const double secs = cfg_step();
    const mova::DeviceWeightCache::Stats with_prefetch =
        streamed ? denoiser.device_weights()->stats() : mova::DeviceWeightCache::Stats{};
    // The same step with every streamed weight uploaded at its use, for the ratio.
    double secs_at_use = 0;
    if (streamed) {
      denoiser.set_weight_prefetch(0);
      secs_at_use = cfg_step();
      denoiser.set_weight_prefetch(mova::JointDenoiser::kWeightPrefetchBytes);
    }
    const auto uploaded = [&] {
      return denoiser.device_weights() ? denoiser.device_weights()->stats().uploaded_bytes : 0;
    };
    const auto g = mova::profile::totals(mova::profile::Category::kGemm);
    const auto a = mova::profile::totals(mova::profile::Category::kAttention);
    // The velocities come back to the host, so the time includes the device's queued work.
    std::printf(
        "joint CFG step (2 passes) on %s (%s), %d threads, video %lld tokens, audio %lld "
        "tokens\n",
        device.str().c_str(), device.is_cpu() ? "f32" : precision.c_str(), ex.threads(),
        static_cast<long long>(T) * (H / 2) * (W / 2), static_cast<long long>(L));
    const int64_t chunk = denoiser.video_expert(1).chunk_tokens();
    std::printf("  chunks        %s\n", chunk == std::numeric_limits<int64_t>::max()
                                            ? "none (whole passes)"
                                            : (std::to_string(chunk) + " video tokens").c_str());
    std::printf("  time          %8.3f s  (text side, once per prompt and expert: %.3f s)\n", secs,
                text_secs);
    if (!backend) {  // the profile times CPU ops; a device's ops are queued, not timed one by one
      std::printf("  GEMM          %8.3f s  %8.1f GFLOP/s  (%.1f GFLOP)\n", g.seconds,
                  g.flops / g.seconds / 1e9, g.flops / 1e9);
      std::printf("  attention     %8.3f s  %8.1f GFLOP/s  (%.1f GFLOP)\n", a.seconds,
                  a.flops / a.seconds / 1e9, a.flops / 1e9);
      std::printf("  other         %8.3f s\n", secs - g.seconds - a.seconds);
    }
    std::printf("  peak RSS      %8.1f MiB\n", peak_rss_mib());
    if (backend) {
      std::printf("  device peak   %8.1f MiB\n",
                  static_cast<double>(backend->buffers().stats().peak_in_use) / (1 << 20));
      std::printf("  weights       %8.1f MiB uploaded in all (budget %s)\n",
                  static_cast<double>(uploaded()) / (1 << 20),
                  weights_mib > 0 ? (std::to_string(weights_mib) + " MiB").c_str() : "none");
      if (streamed)
        std::printf(
            "  streamed      %8.3f s  with prefetch (%llu uploads begun ahead), %.3f s with "
            "each upload at its use: %.2fx\n",
            secs, static_cast<unsigned long long>(with_prefetch.prefetches), secs_at_use,
            secs_at_use / secs);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_joint_step: %s\n", e.what());
    return 1;
  }
  return 0;
}
