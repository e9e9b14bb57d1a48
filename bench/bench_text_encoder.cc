// Encodes one 512-token prompt with the UMT5 encoder of a checkpoint (e.g. `mova make-tiny DIR
// --preset published-text`: UMT5-XXL at its published size, random weights), reporting wall
// time, achieved GEMM/attention throughput (CPU) and peak RSS. Weights stay memory-mapped BF16
// on the CPU; on a GPU (--device cuda) the first encode also uploads them, so a second one is
// timed too, each ending with the output back on the host.
//   build/bin/bench_text_encoder --model DIR [--preset published-text] [--tokens N]
//                                [--device cpu|cuda[:N]] [--precision f32|bf16 (GPU; default bf16)]
// --preset writes that preset into DIR first when DIR is new or empty (bench_checkpoint.h).
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "api/open_device.h"
#include "bench_checkpoint.h"
#include "models/checkpoint.h"
#include "models/umt5_encoder.h"
#include "runtime/memory_stats.h"
#include "runtime/profile.h"

int main(int argc, char** argv) {
  std::string model, preset, device_name = "cpu";
  std::optional<std::string> precision;
  int64_t tokens = 512;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--model") {
      model = argv[i + 1];
    } else if (k == "--preset") {
      preset = argv[i + 1];
    } else if (k == "--device") {
      device_name = argv[i + 1];
    } else if (k == "--precision") {
      precision = argv[i + 1];
    } else if (k == "--tokens") {
      tokens = std::stoll(argv[i + 1]);
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (model.empty()) {
    std::fprintf(stderr,
                 "usage: bench_text_encoder --model DIR [--preset published-text] [--tokens N] "
                 "[--device cpu|cuda[:N]] [--precision f32|bf16]\n");
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
    const mova::Umt5Config cfg = ck.text_encoder_config();
    const mova::Umt5Encoder enc(cfg, ck.weights(mova::Component::kTextEncoder, device));
    // A full-length prompt: every position is a real token (the mask is all ones).
    std::vector<int64_t> ids(512, 0), mask(512, 0);
    for (int64_t i = 0; i < 512; ++i) {
      ids[i] =
          i < tokens - 1 ? 100 + (i * 7919) % (cfg.vocab_size - 100) : (i == tokens - 1 ? 1 : 0);
      mask[i] = i < tokens ? 1 : 0;
    }
    mova::profile::reset();
    mova::profile::enable(true);
    const auto encode = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      mova::Tensor out = enc.encode(ex, ids, mask).to(mova::Device::cpu());
      return std::pair{
          out, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()};
    };
    const auto [ctx, secs] = encode();
    // On a device the first encode also uploads the weights; a generation's second prompt (the
    // negative one) finds them there.
    const double again = backend ? encode().second : 0;
    const auto gemm = mova::profile::totals(mova::profile::Category::kGemm);
    const auto attn = mova::profile::totals(mova::profile::Category::kAttention);
    std::printf("UMT5 encoder d_model %lld, %lld layers, %lld heads: %lld real tokens of 512\n",
                static_cast<long long>(cfg.d_model), static_cast<long long>(cfg.num_layers),
                static_cast<long long>(cfg.num_heads), static_cast<long long>(tokens));
    if (backend)  // the profile times CPU ops; a device's are queued, not timed one by one
      std::printf("  wall %.2f s on %s (%s) with the weights' upload, %.2f s the second time\n",
                  secs, device.str().c_str(), mova::precision_name(prec), again);
    else
      std::printf("  wall %.2f s (%d threads); GEMM %.0f GFLOP/s over %.2f s; attention %.2f s\n",
                  secs, ex.threads(), gemm.flops / gemm.seconds / 1e9, gemm.seconds, attn.seconds);
    std::printf("  output %s, peak RSS %.1f MiB", mova::shape_str(ctx.shape()).c_str(),
                static_cast<double>(mova::peak_rss_bytes()) / (1 << 20));
    if (backend)
      std::printf(", device peak %.1f MiB",
                  static_cast<double>(backend->buffers().stats().peak_in_use) / (1 << 20));
    std::printf("\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_text_encoder: %s\n", e.what());
    return 1;
  }
  return 0;
}
