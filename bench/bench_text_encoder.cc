// Encodes one 512-token prompt with the UMT5 encoder of a checkpoint (e.g. `mova make-tiny DIR
// --preset published-text`: UMT5-XXL at its published size, random weights), reporting wall
// time, achieved GEMM/attention throughput and peak RSS. Weights stay memory-mapped BF16.
//   build/bin/bench_text_encoder --model DIR [--tokens N]
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "models/checkpoint.h"
#include "models/umt5_encoder.h"
#include "runtime/memory_stats.h"
#include "runtime/profile.h"

int main(int argc, char** argv) {
  std::string model;
  int64_t tokens = 512;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--model") {
      model = argv[i + 1];
    } else if (k == "--tokens") {
      tokens = std::stoll(argv[i + 1]);
    } else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  if (model.empty()) {
    std::fprintf(stderr, "usage: bench_text_encoder --model DIR [--tokens N]\n");
    return 2;
  }
  try {
    mova::Exec ex;
    const mova::Checkpoint ck = mova::Checkpoint::open(model);
    const mova::Umt5Config cfg = ck.text_encoder_config();
    const mova::Umt5Encoder enc(cfg, ck.weights(mova::Component::kTextEncoder));
    // A full-length prompt: every position is a real token (the mask is all ones).
    std::vector<int64_t> ids(512, 0), mask(512, 0);
    for (int64_t i = 0; i < 512; ++i) {
      ids[i] =
          i < tokens - 1 ? 100 + (i * 7919) % (cfg.vocab_size - 100) : (i == tokens - 1 ? 1 : 0);
      mask[i] = i < tokens ? 1 : 0;
    }
    mova::profile::reset();
    mova::profile::enable(true);
    const auto t0 = std::chrono::steady_clock::now();
    const mova::Tensor ctx = enc.encode(ex, ids, mask);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto gemm = mova::profile::totals(mova::profile::Category::kGemm);
    const auto attn = mova::profile::totals(mova::profile::Category::kAttention);
    std::printf("UMT5 encoder d_model %lld, %lld layers, %lld heads: %lld real tokens of 512\n",
                static_cast<long long>(cfg.d_model), static_cast<long long>(cfg.num_layers),
                static_cast<long long>(cfg.num_heads), static_cast<long long>(tokens));
    std::printf("  wall %.2f s (%d threads); GEMM %.0f GFLOP/s over %.2f s; attention %.2f s\n",
                secs, ex.threads(), gemm.flops / gemm.seconds / 1e9, gemm.seconds, attn.seconds);
    std::printf("  output %s, peak RSS %.1f MiB\n", mova::shape_str(ctx.shape()).c_str(),
                static_cast<double>(mova::peak_rss_bytes()) / (1 << 20));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_text_encoder: %s\n", e.what());
    return 1;
  }
  return 0;
}
