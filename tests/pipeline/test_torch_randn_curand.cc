// pipeline/torch_randn.h against cuRAND's own device code, compiled here for the host from
// the CUDA toolkit's headers (built only where they are installed): the Philox stream word
// for word, and torch.randn's grid-stride kernel (PyTorch's DistributionTemplates.h, restated
// below around curand_init and curand_normal4). cuRAND's host branch of Box-Muller calls
// sinf/cosf where the GPU calls __sincosf, and no FMA, so the normals are compared with a
// tolerance and the words exactly.
#define QUALIFIERS static inline
#include <curand_kernel.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "pipeline/torch_randn.h"
#include "runtime/philox.h"

namespace mova {
namespace {

TEST(TorchRandnCurand, PhiloxWordsEqualCurand4) {
  for (const uint64_t seed : {0ull, 42ull, 0xfedcba9876543210ull})
    for (const uint64_t subsequence : {0ull, 1ull, 255ull, 270335ull, 0xffffffffull, 1ull << 40})
      for (const uint64_t offset : {0ull, 1ull, 2ull, 3ull, 4ull, 7ull, 12ull, 0x3fffffffdull}) {
        curandStatePhilox4_32_10_t state;
        curand_init(seed, subsequence, offset, &state);
        PhiloxStream mine(seed, subsequence, offset);
        for (int call = 0; call < 3; ++call) {
          const uint4 w = curand4(&state);
          ASSERT_EQ(mine.next4(), (PhiloxWords{w.x, w.y, w.z, w.w}))
              << seed << " " << subsequence << " " << offset << " call " << call;
        }
      }
}

// PyTorch's distribution_elementwise_grid_stride_kernel for normal_ on float, one thread at
// a time, with its launch from calc_execution_policy.
std::vector<float> torch_kernel(int64_t numel, uint64_t seed, uint64_t offset,
                                const TorchCudaGpu& gpu) {
  std::vector<float> out(static_cast<size_t>(numel));
  const int64_t block = 256;
  const int64_t grid =
      std::min((numel + block - 1) / block, gpu.sm_count * (gpu.max_threads_per_sm / block));
  const int64_t stride = block * grid;
  const int64_t rounded = ((numel - 1) / (stride * 4) + 1) * stride * 4;
  for (int64_t idx = 0; idx < stride; ++idx) {
    curandStatePhilox4_32_10_t state;
    curand_init(seed, static_cast<unsigned long long>(idx), offset, &state);
    for (int64_t linear = idx; linear < rounded; linear += stride * 4) {
      const float4 r = curand_normal4(&state);
      const float v[4] = {r.x, r.y, r.z, r.w};
      for (int64_t i = 0; i < 4; ++i)
        if (linear + stride * i < numel) out[static_cast<size_t>(linear + stride * i)] = v[i];
    }
  }
  return out;
}

TEST(TorchRandnCurand, NormalsEqualPyTorchsKernelOnCurand) {
  struct Call {
    int64_t numel;
    TorchCudaGpu gpu;
  };
  // One GPU per generator; the calls run in order on it, as video then audio do.
  const std::vector<std::vector<Call>> sequences = {
      {{10, {132, 2048}}, {5000, {132, 2048}}},
      {{9003, {2, 512}}, {700, {2, 512}}, {70000, {2, 512}}},
      {{300000, {108, 2048}}, {51584, {108, 2048}}},  // past an A100's resident threads
  };
  double worst = 0;
  for (const uint64_t seed : {42ull, 1234567ull}) {
    for (const auto& calls : sequences) {
      TorchCudaRandn mine(seed, calls[0].gpu);
      for (const Call& c : calls) {
        const uint64_t offset = mine.philox_offset();
        const Tensor t = mine.randn({c.numel});
        const std::vector<float> ref = torch_kernel(c.numel, seed, offset, c.gpu);
        for (int64_t e = 0; e < c.numel; ++e)
          worst =
              std::max(worst, std::abs(double{t.data<float>()[e]} - ref[static_cast<size_t>(e)]));
      }
    }
  }
  // float sinf/cosf and an unfused v against double sin/cos of the fused v: well under one
  // float step of the largest normals (|x| < 7, step 4.8e-7) times a few.
  EXPECT_LT(worst, 3e-6);
  std::printf("largest difference from cuRAND's host Box-Muller: %.3g\n", worst);
}

}  // namespace
}  // namespace mova
