// Writes a complete MOVA checkpoint folder in the published layout with tiny dimensions and
// seeded random weights: every component, sharded where the published one is sharded
// (video_dit, video_dit_2, text_encoder), plus a sentencepiece tokenizer trained on a small
// built-in multilingual corpus. Tests use it; it is also the default demo model until the
// nano model exists. The same seed gives byte-identical files.
#pragma once

#include <cstdint>
#include <string>

#include "runtime/dtype.h"

namespace mova {

struct TinyCheckpointOptions {
  uint64_t seed = 0;
  DType dtype = DType::kBF16;  // published weights are BF16
  // "tiny": a few KB per component, for tests. "mid": DiTs with head_dim 128 like the
  // published model (video 512 wide × 8 layers, audio 256 × 6), for benchmarks.
  // "nano": the bundled nano model's architecture (64x64 video, 16 kHz audio, 256-wide DiTs),
  // random until tools/nano trains it.
  // "published-vaes": tiny DiTs and text encoder, but both VAEs at the published sizes
  // (Wan2.1 VAE 127M parameters, DAC 372M), for VAE benchmarks. "published-text": tiny
  // model, but the UMT5-XXL text encoder at its published size (5.68B parameters, 11 GB).
  // "published-layer": the DiTs and bridge at the published widths (video 5120 × 40 heads,
  // audio 1536 × 12, DAC latent 128, text_dim 4096) with one layer per tower (2 GB).
  std::string preset = "tiny";
};

void write_tiny_checkpoint(const std::string& dir, const TinyCheckpointOptions& options);

}  // namespace mova
