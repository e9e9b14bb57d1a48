#include "runtime/cuda/kernels/activation.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/element_io.cuh"

namespace mova::cuda {
namespace {

__device__ float apply(Activation act, float v) {
  if (act == Activation::kSilu) return v / (1.0f + expf(-v));
  if (act == Activation::kGeluErf) return 0.5f * v * (1.0f + erff(v * 0.7071067811865476f));
  // GELU, tanh approximation (torch's approximate="tanh", the DiTs' FFN): 0.5·v·(1 + tanh(u))
  // as v / (1 + e^(−2u)), like the CPU kernel (no cancellation for negative v).
  const float u = 0.7978845608028654f * (v + 0.044715f * v * v * v);
  return v / (1.0f + expf(-2.0f * u));
}

template <typename T>
__global__ void activation_kernel(Activation act, const T* x, T* y, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    store(y + i, apply(act, load(x + i)));
}

}  // namespace

void activation(Activation act, const void* x, void* y, DType dtype, int64_t n,
                cudaStream_t stream) {
  if (n == 0) return;
  constexpr int kThreads = 256;
  const int blocks = grid_for(n, kThreads);
  dispatch_storage(dtype, "activation", [&](auto tag) {
    using T = decltype(tag);
    activation_kernel<<<blocks, kThreads, 0, stream>>>(act, static_cast<const T*>(x),
                                                       static_cast<T*>(y), n);
  });
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
