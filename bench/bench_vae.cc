// Decodes video and audio latents with both VAEs at the published sizes (random weights from
// `mova make-tiny --preset published-vaes`), reporting time and peak RSS. Video is decoded
// chunk by chunk into 8-bit frames, as `mova generate` does, so peak memory should not grow
// with the clip length: run it with two --latent-frames values to see that. On a GPU
// (--device cuda) each chunk comes back to the host, so the times include the queued work.
//   build/bin/bench_vae --model DIR [--preset published-vaes] [--latent-frames T] [--height H]
//                       [--width W] [--audio-seconds S] [--skip-video] [--skip-audio] [--tiling]
//                       [--device cpu|cuda[:N]] [--precision f32|bf16 (GPU; default bf16)]
// --preset writes that preset into DIR first when DIR is new or empty (bench_checkpoint.h).
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "api/open_device.h"
#include "bench_checkpoint.h"
#include "models/checkpoint.h"
#include "models/dac.h"
#include "models/wan_vae.h"
#include "pipeline/noise.h"
#include "runtime/log.h"
#include "runtime/memory_stats.h"

namespace {

double mib(int64_t bytes) {
  return static_cast<double>(bytes) / (1 << 20);
}

double since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, preset, device_name = "cpu";
  std::optional<std::string> precision;
  int64_t T = 3, H = 352, W = 640;
  double audio_seconds = 8.0;
  bool video = true, audio = true, tiled = false;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&] { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
    if (k == "--model")
      model = next();
    else if (k == "--preset")
      preset = next();
    else if (k == "--device")
      device_name = next();
    else if (k == "--precision")
      precision = next();
    else if (k == "--latent-frames")
      T = std::stoll(next());
    else if (k == "--height")
      H = std::stoll(next());
    else if (k == "--width")
      W = std::stoll(next());
    else if (k == "--audio-seconds")
      audio_seconds = std::stod(next());
    else if (k == "--skip-video")
      video = false;
    else if (k == "--skip-audio")
      audio = false;
    else if (k == "--tiling")
      tiled = true;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (model.empty()) {
    std::fprintf(stderr,
                 "usage: bench_vae --model DIR [--preset published-vaes] (or a folder written by "
                 "mova make-tiny DIR --preset published-vaes)\n");
    return 2;
  }
  try {
    const mova::Device device = mova::parse_device(device_name, "--device");
    const mova::Precision prec =
        mova::choose_precision(precision, {device}, "--precision", mova::Precision::kBF16);
    // The device first: a missing GPU needs no checkpoint written.
    const auto backend = mova::open_device(device, prec);
    mova::bench::write_preset_if_missing(model, preset);
    mova::Exec ex;
    const mova::Checkpoint ck = mova::Checkpoint::open(model);
    std::printf("%s (%s), threads %d, baseline peak RSS %.1f MiB\n", device.str().c_str(),
                device.is_cpu() ? "f32" : mova::precision_name(prec), ex.threads(),
                mib(mova::peak_rss_bytes()));
    // The device's own peak per VAE (its weights included), beside the host's (peak RSS).
    const auto mark_device_peak = [&] {
      if (backend) backend->buffers().mark_peak();
    };
    const auto device_peak = [&] {
      if (!backend) return std::string();
      const size_t peak = backend->buffers().stats().peak_since_mark;
      return ", device peak " +
             std::to_string(static_cast<int64_t>(mib(static_cast<int64_t>(peak)))) + " MiB";
    };
    if (video) {
      mark_device_peak();
      const mova::WanVae vae(ck.video_vae_config(), ck.weights(mova::Component::kVideoVae, device));
      const mova::Tensor z = mova::seeded_noise({1, 16, T, H / 8, W / 8}, 1, 0);
      int64_t frames = 0;
      const auto t0 = std::chrono::steady_clock::now();
      double first = 0;
      const mova::VaeTiling tiling;
      vae.decode(
          ex, z,
          [&](const mova::Tensor& chunk) {
            frames += chunk.size(1);
            if (first == 0) first = since(t0);
            std::printf("  video chunk -> %lld frames, %.1f s, peak RSS %.1f MiB",
                        static_cast<long long>(frames), since(t0), mib(mova::peak_rss_bytes()));
            if (!backend) {  // the host's pool holds the activations only on the CPU
              const mova::MemoryStats m = ex.buffers().stats();
              std::printf(" (buffer pool: peak in use %.1f MiB, cached %.1f MiB)",
                          mib(static_cast<int64_t>(m.peak_in_use)),
                          mib(static_cast<int64_t>(m.cached)));
            }
            std::printf("\n");
            std::fflush(stdout);
          },
          tiled ? &tiling : nullptr);
      const double total = since(t0);
      const double per_later = T > 1 ? (total - first) / static_cast<double>(T - 1) : 0;
      std::printf(
          "video decode %lldx%lld: %lld latent frames -> %lld frames in %.1f s "
          "(first chunk %.1f s, later chunks %.1f s each), peak RSS %.1f MiB%s\n",
          static_cast<long long>(W), static_cast<long long>(H), static_cast<long long>(T),
          static_cast<long long>(frames), total, first, per_later, mib(mova::peak_rss_bytes()),
          device_peak().c_str());
      if (!tiled)  // tiled decoding hands every frame over at the end
        std::printf("  extrapolated 193 frames (49 latent frames): %.0f s\n",
                    first + 48 * per_later);
    }
    if (audio) {
      mark_device_peak();
      const mova::DacVae dac(ck.audio_vae_config(), ck.weights(mova::Component::kAudioVae, device));
      const int64_t samples = static_cast<int64_t>(audio_seconds * 48000);
      const int64_t L = (samples - 1) / dac.config().hop_length() + 1;
      const mova::Tensor z = mova::seeded_noise({1, dac.config().latent_channels(), L}, 1, 1);
      const auto t0 = std::chrono::steady_clock::now();
      const mova::Tensor wave = dac.decode(ex, z).to(mova::Device::cpu());
      std::printf(
          "audio decode %.1f s (%lld latents -> %lld samples): %.1f s, peak RSS %.1f MiB%s\n",
          audio_seconds, static_cast<long long>(L), static_cast<long long>(wave.numel()), since(t0),
          mib(mova::peak_rss_bytes()), device_peak().c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_vae: %s\n", e.what());
    return 1;
  }
  return 0;
}
