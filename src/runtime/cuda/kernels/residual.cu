#include "runtime/cuda/kernels/residual.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/element_io.cuh"

namespace mova::cuda {
namespace {

template <typename T>
__global__ void residual_gate_kernel(const float* x, const T* y, int64_t n, int64_t dim,
                                     const float* gate, float* out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    out[i] = x[i] + (gate ? gate[i % dim] * load(y + i) : load(y + i));
}

}  // namespace

void residual_gate(const float* x, const void* y, DType y_dtype, int64_t rows, int64_t dim,
                   const float* gate, float* out, cudaStream_t stream) {
  MOVA_CHECK(rows >= 0 && dim > 0, ErrorKind::kShape, "CUDA residual_gate: ", rows, " rows of ",
             dim);
  const int64_t n = rows * dim;
  if (n == 0) return;
  constexpr int kThreads = 256;
  dispatch_storage(y_dtype, "residual_gate", [&](auto tag) {
    using T = decltype(tag);
    residual_gate_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(
        x, static_cast<const T*>(y), n, dim, gate, out);
  });
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
