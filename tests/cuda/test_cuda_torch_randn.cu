// pipeline/torch_randn.h (upstream's torch.randn on CUDA, computed on the host) against the
// GPU's own cuRAND: PyTorch's normal kernel restated below (distribution_elementwise_grid_
// stride_kernel around curand_init and curand_normal4, launched as calc_execution_policy
// launches it on this GPU), so the difference measured is the one a user sees between our
// noise and upstream's: the GPU's __sincosf and logf against our double-precision ones.
// Built by nvcc only (the emulator has no cuRAND); skipped without a GPU.
#include <cuda_runtime.h>
#include <curand_kernel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cuda/raw_device_vectors.h"
#include "pipeline/torch_randn.h"

namespace {

int device_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

__global__ void torch_normal_kernel(int64_t numel, uint64_t seed, uint64_t offset, float* out) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  curandStatePhilox4_32_10_t state;
  curand_init(seed, idx, offset, &state);
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  const int64_t rounded = ((numel - 1) / (stride * 4) + 1) * stride * 4;
  for (int64_t linear = idx; linear < rounded; linear += stride * 4) {
    const float4 r = curand_normal4(&state);
    const float v[4] = {r.x, r.y, r.z, r.w};
    for (int i = 0; i < 4; ++i)
      if (linear + stride * i < numel) out[linear + stride * i] = v[i] * 1.0f + 0.0f;
    __syncthreads();
  }
}

TEST(CudaTorchRandn, HostNoiseMatchesTheGpusCurand) {
  if (device_count() == 0) GTEST_SKIP() << "no CUDA device or driver on this machine";
  cudaDeviceProp prop{};
  ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
  const mova::TorchCudaGpu gpu{prop.multiProcessorCount, prop.maxThreadsPerMultiProcessor};
  // 360p at 193 frames: the video latent, then the audio latent, from one generator.
  const int64_t shapes[2] = {16 * 49 * 45 * 80, 128 * 403};
  const uint64_t seed = 42;
  mova::TorchCudaRandn host(seed, gpu);
  for (const int64_t numel : shapes) {
    const uint64_t offset = host.philox_offset();
    const mova::Tensor mine = host.randn({numel});
    const int64_t blocks =
        std::min<int64_t>((numel + 255) / 256, gpu.sm_count * (gpu.max_threads_per_sm / 256));
    float* d = mova::test::fresh<float>(static_cast<size_t>(numel));
    torch_normal_kernel<<<static_cast<unsigned>(blocks), 256>>>(numel, seed, offset, d);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    const std::vector<float> ref = mova::test::to_host(d, static_cast<size_t>(numel));
    cudaFree(d);
    double worst = 0, sum = 0;
    int64_t equal = 0;
    for (int64_t e = 0; e < numel; ++e) {
      const double diff = std::abs(double{mine.data<float>()[e]} - ref[static_cast<size_t>(e)]);
      worst = std::max(worst, diff);
      sum += diff;
      equal += diff == 0;
    }
    std::printf(
        "%s (%d SMs x %d threads), %lld normals from offset %llu: max |diff| %.3g, mean "
        "%.3g, %.1f%% bit-equal\n",
        prop.name, prop.multiProcessorCount, prop.maxThreadsPerMultiProcessor,
        static_cast<long long>(numel), static_cast<unsigned long long>(offset), worst,
        sum / static_cast<double>(numel), 100.0 * static_cast<double>(equal) / numel);
    // docs/generate.md states about 1e-6; a wrong layout or offset gives differences of order 1.
    EXPECT_LT(worst, 2e-5);
  }
}

// PyTorch itself, where scripts/gpu-run.sh could run it: $MOVA_TORCH_RANDN names the float32
// values of torch.manual_seed(42); torch.randn(1,16,49,45,80, device="cuda") and then
// torch.randn(1,128,403, device="cuda") on this GPU (bench/torch_randn.py writes them).
TEST(CudaTorchRandn, HostNoiseMatchesPyTorch) {
  if (device_count() == 0) GTEST_SKIP() << "no CUDA device or driver on this machine";
  const char* path = std::getenv("MOVA_TORCH_RANDN");
  if (!path) GTEST_SKIP() << "MOVA_TORCH_RANDN is not set (bench/torch_randn.py writes it)";
  cudaDeviceProp prop{};
  ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
  const int64_t video = 16 * 49 * 45 * 80, audio = 128 * 403;
  std::vector<float> torch(static_cast<size_t>(video + audio));
  std::FILE* f = std::fopen(path, "rb");
  ASSERT_NE(f, nullptr) << path;
  const size_t got = std::fread(torch.data(), sizeof(float), torch.size(), f);
  std::fclose(f);
  ASSERT_EQ(got, torch.size()) << path << ": expected " << torch.size() << " float32 values";
  mova::TorchCudaRandn host(42, {prop.multiProcessorCount, prop.maxThreadsPerMultiProcessor});
  const mova::Tensor v = host.randn({1, 16, 49, 45, 80});
  const mova::Tensor a = host.randn({1, 128, 403});
  double worst = 0;
  int64_t equal = 0;
  for (int64_t e = 0; e < video + audio; ++e) {
    const float mine = e < video ? v.data<float>()[e] : a.data<float>()[e - video];
    const double diff = std::abs(double{mine} - torch[static_cast<size_t>(e)]);
    worst = std::max(worst, diff);
    equal += diff == 0;
  }
  std::printf("against PyTorch on %s: max |diff| %.3g, %.1f%% bit-equal\n", prop.name, worst,
              100.0 * static_cast<double>(equal) / static_cast<double>(video + audio));
  EXPECT_LT(worst, 2e-5);
}

}  // namespace
