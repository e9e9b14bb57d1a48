#include "runtime/cuda/kernels/channel_ops.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/element_io.cuh"

namespace mova::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void channel_rms_norm_kernel(const float* x, float* y, int64_t channels,
                                        int64_t positions, const float* gamma, bool then_silu) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const double root_c = sqrt(static_cast<double>(channels));
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < positions;
       i += step) {
    // Neighbouring threads read neighbouring positions of each channel row: coalesced. The sum
    // is kept in double like the CPU's, so the two agree to rounding of the final product.
    double ss = 0.0;
    for (int64_t c = 0; c < channels; ++c) {
      const double v = x[c * positions + i];
      ss += v * v;
    }
    const double scale = root_c / fmax(sqrt(ss), 1e-12);
    for (int64_t c = 0; c < channels; ++c) {
      const float v = static_cast<float>(x[c * positions + i] * scale * gamma[c]);
      y[c * positions + i] = then_silu ? v / (1.0f + expf(-v)) : v;
    }
  }
}

__global__ void snake_kernel(const float* x, float* y, int64_t channels, int64_t length,
                             const float* alpha) {
  const int64_t total = channels * length;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    const float a = alpha[i / length], v = x[i];
    const float s = sinf(a * v);
    y[i] = v + 1.0f / (a + 1e-9f) * s * s;
  }
}

}  // namespace

void channel_rms_norm(const float* x, float* y, int64_t channels, int64_t positions,
                      const float* gamma, bool then_silu, cudaStream_t stream) {
  if (positions == 0 || channels == 0) return;
  channel_rms_norm_kernel<<<grid_for(positions, kThreads), kThreads, 0, stream>>>(
      x, y, channels, positions, gamma, then_silu);
  MOVA_CUDA_CHECK(cudaGetLastError());
}

void snake(const float* x, float* y, int64_t channels, int64_t length, const float* alpha,
           cudaStream_t stream) {
  if (channels * length == 0) return;
  snake_kernel<<<grid_for(channels * length, kThreads), kThreads, 0, stream>>>(x, y, channels,
                                                                               length, alpha);
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
