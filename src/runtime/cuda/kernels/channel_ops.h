// Per-channel pointwise ops of the VAEs over F32 tensors laid out [C, positions] (contiguous):
// the Wan VAE's channel RMS norm (optionally fused with the SiLU after it) and DAC's Snake.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace mova::cuda {

// y[c, i] = x[c, i] / max(‖x[:, i]‖₂, 1e-12) · √C · gamma[c], then SiLU when then_silu.
// One thread per position; gamma is an F32 device vector of C values.
void channel_rms_norm(const float* x, float* y, int64_t channels, int64_t positions,
                      const float* gamma, bool then_silu, cudaStream_t stream = nullptr);

// y[c, i] = x + 1/(α[c] + 1e-9) · sin²(α[c]·x); alpha an F32 device vector of C values.
void snake(const float* x, float* y, int64_t channels, int64_t length, const float* alpha,
           cudaStream_t stream = nullptr);

}  // namespace mova::cuda
