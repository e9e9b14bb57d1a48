// Upstream's initial noise: `torch.manual_seed(seed)`, then `torch.randn(shape,
// device="cuda", dtype=torch.float32)` for the video latents and again for the audio latents
// (MOVA's pipeline, `randn_tensor` with no generator). Restated on the host from PyTorch's
// CUDA normal kernel: the default CUDA generator (Philox offset 0 after the seed, advanced by
// each call), `calc_execution_policy`'s launch (256-thread blocks, at most as many as the GPU
// keeps resident), one cuRAND Philox subsequence per thread, four normals per curand_normal4
// call spread over a grid-stride loop, and cuRAND's Box-Muller.
//
// The element each thread writes depends on the grid, and the grid on the GPU once a tensor
// has more elements than the GPU has resident threads (132 SMs x 2048 threads on an H100 SXM
// or H200: 270,336; a 360p video latent has 2.8 million), so the GPU is a parameter.
// Values: the GPU computes the sine and cosine with its approximate __sincosf and its own
// logf, this file in double precision; they differ by about 1e-6 (docs/generate.md, "Noise").
#pragma once

#include <cstdint>

#include "runtime/tensor.h"

namespace mova {

// What calc_execution_policy reads from cudaDeviceProp.
struct TorchCudaGpu {
  int64_t sm_count = 132;             // multiProcessorCount: H100 SXM, H200
  int64_t max_threads_per_sm = 2048;  // maxThreadsPerMultiProcessor: sm_80, sm_90

  // What TorchCudaRandn accepts (one 256-thread block per SM at least).
  static constexpr int64_t kMaxSms = 65536;
  static constexpr int64_t kMinThreadsPerSm = 256, kMaxThreadsPerSm = 65536;
};

class TorchCudaRandn {
 public:
  TorchCudaRandn(uint64_t seed, TorchCudaGpu gpu);

  // Standard-normal float32 values, as torch.randn(shape, device="cuda") after the calls
  // before it.
  Tensor randn(const Shape& shape);

  // The generator's Philox offset (torch.cuda.get_rng_state's last 8 bytes).
  uint64_t philox_offset() const { return offset_; }

 private:
  uint64_t seed_;
  TorchCudaGpu gpu_;
  uint64_t offset_ = 0;
};

}  // namespace mova
