// The initial noise of a generation. Upstream draws it with torch.randn on the GPU after
// torch.manual_seed(seed), video first, then audio; `NoiseRng::kTorchCuda` restates that
// stream (pipeline/torch_randn.h), so a seed gives upstream's noise for that seed.
// `kMova` is this engine's own stream (splitmix64 + Box-Muller), what the nano model's
// figures were measured with. `mova generate --noise FILE` loads exact tensors instead
// (`video_noise`, `audio_noise`).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pipeline/torch_randn.h"
#include "runtime/tensor.h"

namespace mova {

struct NoiseRng {
  enum class Kind { kTorchCuda, kMova };
  Kind kind = Kind::kTorchCuda;
  TorchCudaGpu gpu;  // kTorchCuda: the GPU whose launch is reproduced
};

// "torch-cuda" (an H100/H200), "torch-cuda:SMS" or "torch-cuda:SMS:THREADS_PER_SM" (another
// GPU's cudaDeviceProp multiProcessorCount and maxThreadsPerMultiProcessor), or "mova".
// Errors name `option`.
NoiseRng parse_noise_rng(std::string_view text, std::string_view option);
// The text parse_noise_rng reads back, e.g. "torch-cuda:108:2048".
std::string noise_rng_name(const NoiseRng& rng);

// Standard-normal float32 noise from this engine's own stream; `stream` separates
// independent draws of one seed (0: video, 1: audio). Identical on every platform and thread
// count.
Tensor seeded_noise(const Shape& shape, uint64_t seed, uint64_t stream);

struct NoisePair {
  Tensor video;
  Tensor audio;
};

// The noise of a generation with this seed: video, then audio from the same generator.
NoisePair initial_noise(const NoiseRng& rng, uint64_t seed, const Shape& video_shape,
                        const Shape& audio_shape);

// Reads `video_noise` and `audio_noise` from a safetensors file and checks their shapes.
NoisePair load_noise(const std::string& path, const Shape& video_shape, const Shape& audio_shape);

}  // namespace mova
