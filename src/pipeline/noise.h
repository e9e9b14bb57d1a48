// The initial noise of a generation. Upstream draws it with torch.randn on the GPU after
// torch.manual_seed(seed) (video first, then audio); reproducing CUDA's Philox stream bit for
// bit is not a goal, so a seed here gives a different (equally distributed) sample than
// upstream's. For cross-implementation checks, `mova generate --noise FILE` loads upstream's
// exact tensors instead (tensors `video_noise`, `audio_noise`).
#pragma once

#include <cstdint>
#include <string>

#include "runtime/tensor.h"

namespace mova {

// Standard-normal float32 noise; `stream` separates independent draws of one seed
// (0: video, 1: audio). Identical on every platform and thread count.
Tensor seeded_noise(const Shape& shape, uint64_t seed, uint64_t stream);

struct NoisePair {
  Tensor video;
  Tensor audio;
};

// Reads `video_noise` and `audio_noise` from a safetensors file and checks their shapes.
NoisePair load_noise(const std::string& path, const Shape& video_shape, const Shape& audio_shape);

}  // namespace mova
