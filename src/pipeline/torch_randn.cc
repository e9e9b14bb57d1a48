#include "pipeline/torch_randn.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "runtime/error.h"
#include "runtime/philox.h"

namespace mova {
namespace {

constexpr int64_t kBlock = 256;  // PyTorch's block_size_bound
constexpr int64_t kUnroll = 4;   // normals per curand_normal4 call

// cuRAND's _curand_box_muller: two 32-bit words to two normals. The scale constants are
// cuRAND's float literals; nvcc contracts v's multiply-add into one FMA.
std::array<float, 2> box_muller(uint32_t x, uint32_t y) {
  constexpr float kInv = 2.3283064e-10f;  // 2^-32
  constexpr float kInv2Pi = 2.3283064e-10f * 6.2831855f;
  const float u = static_cast<float>(x) * kInv + kInv / 2;
  const float v = std::fma(static_cast<float>(y), kInv2Pi, kInv2Pi / 2);
  const float s = std::sqrt(-2.0f * static_cast<float>(std::log(static_cast<double>(u))));
  return {static_cast<float>(std::sin(static_cast<double>(v))) * s,
          static_cast<float>(std::cos(static_cast<double>(v))) * s};
}

}  // namespace

TorchCudaRandn::TorchCudaRandn(uint64_t seed, TorchCudaGpu gpu) : seed_(seed), gpu_(gpu) {
  MOVA_CHECK(gpu.sm_count >= 1 && gpu.sm_count <= TorchCudaGpu::kMaxSms,
             ErrorKind::kInvalidArgument, "torch CUDA noise: SM count ", gpu.sm_count,
             " is not in [1, ", TorchCudaGpu::kMaxSms, "]");
  MOVA_CHECK(gpu.max_threads_per_sm >= TorchCudaGpu::kMinThreadsPerSm &&
                 gpu.max_threads_per_sm <= TorchCudaGpu::kMaxThreadsPerSm,
             ErrorKind::kInvalidArgument, "torch CUDA noise: threads per SM ",
             gpu.max_threads_per_sm, " is not in [", TorchCudaGpu::kMinThreadsPerSm, ", ",
             TorchCudaGpu::kMaxThreadsPerSm, "]");
}

Tensor TorchCudaRandn::randn(const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::kF32);
  const int64_t n = t.numel();
  if (n == 0) return t;  // torch launches nothing and leaves the offset
  // Past 2^31 - 1 elements torch splits the launch into 32-bit-indexable parts.
  MOVA_CHECK(n <= std::numeric_limits<int32_t>::max(), ErrorKind::kUnsupported,
             "torch CUDA noise: ", shape_str(shape), " has more than 2^31 - 1 elements");
  const int64_t resident_blocks = gpu_.sm_count * (gpu_.max_threads_per_sm / kBlock);
  const int64_t threads = std::min((n + kBlock - 1) / kBlock, resident_blocks) * kBlock;
  const int64_t per_round = threads * kUnroll;
  const int64_t rounds = (n - 1) / per_round + 1;

  float* out = t.data<float>();
  for (int64_t idx = 0; idx < threads; ++idx) {
    PhiloxStream stream(seed_, static_cast<uint64_t>(idx), offset_);
    for (int64_t r = 0; r < rounds; ++r) {
      const PhiloxWords w = stream.next4();
      const std::array<float, 2> a = box_muller(w[0], w[1]);
      const std::array<float, 2> b = box_muller(w[2], w[3]);
      const std::array<float, 4> normals = {a[0], a[1], b[0], b[1]};
      for (int64_t i = 0; i < kUnroll; ++i) {
        const int64_t element = idx + r * per_round + i * threads;
        // normal(rand, mean 0, std 1) is rand * 1 + 0, which turns -0 into +0.
        if (element < n) out[element] = normals[static_cast<size_t>(i)] * 1.0f + 0.0f;
      }
    }
  }
  // philox_cuda_state(counter_offset): four offsets per curand_normal4 call of a thread.
  offset_ += static_cast<uint64_t>(rounds) * 4;
  return t;
}

}  // namespace mova
