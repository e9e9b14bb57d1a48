#include "runtime/cuda/kernels/activation.h"

#include <cuda_bf16.h>

#include "runtime/cuda/cuda_check.h"

namespace mova::cuda {
namespace {

__device__ float apply(Activation act, float v) {
  if (act == Activation::kSilu) return v / (1.0f + expf(-v));
  // GELU, tanh approximation (torch's approximate="tanh", the DiTs' FFN).
  const float inner = 0.7978845608028654f * (v + 0.044715f * v * v * v);
  return 0.5f * v * (1.0f + tanhf(inner));
}

template <typename T>
__device__ float load(const T* p);
template <>
__device__ float load<float>(const float* p) {
  return *p;
}
template <>
__device__ float load<__nv_bfloat16>(const __nv_bfloat16* p) {
  return __bfloat162float(*p);
}

__device__ void store(float* p, float v) {
  *p = v;
}
__device__ void store(__nv_bfloat16* p, float v) {
  *p = __float2bfloat16_rn(v);
}

template <typename T>
__global__ void activation_kernel(Activation act, T* x, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    store(x + i, apply(act, load(x + i)));
}

}  // namespace

void activation_inplace(Activation act, void* x, DType dtype, int64_t n, cudaStream_t stream) {
  if (n == 0) return;
  constexpr int kThreads = 256;
  const int blocks = static_cast<int>(std::min<int64_t>((n + kThreads - 1) / kThreads, 65535));
  switch (dtype) {
    case DType::kF32:
      activation_kernel<<<blocks, kThreads, 0, stream>>>(act, static_cast<float*>(x), n);
      break;
    case DType::kBF16:
      activation_kernel<<<blocks, kThreads, 0, stream>>>(act, static_cast<__nv_bfloat16*>(x), n);
      break;
    default:
      fail(ErrorKind::kUnsupported, "CUDA activation: dtype ", dtype_name(dtype),
           " (F32 and BF16 are supported)");
  }
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
