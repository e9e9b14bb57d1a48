#include "runtime/cuda/kernels/fill.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/element_io.cuh"

namespace mova::cuda {
namespace {

// splitmix64 of (seed, index): independent per element, so any grid gives the same values.
__device__ float hash_unit(uint64_t seed, uint64_t i) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ull * (i + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (1.0f / 16777216.0f);
}

template <typename T>
__global__ void fill_kernel(T* x, int64_t n, uint64_t seed, float lo, float span) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    store(x + i, lo + span * hash_unit(seed, static_cast<uint64_t>(i)));
}

}  // namespace

void fill_uniform(void* x, DType dtype, int64_t n, uint64_t seed, float lo, float hi,
                  cudaStream_t stream) {
  MOVA_CHECK(n >= 0, ErrorKind::kShape, "CUDA fill_uniform: ", n, " elements");
  if (n == 0) return;
  constexpr int kThreads = 256;
  dispatch_storage(dtype, "fill_uniform", [&](auto tag) {
    using T = decltype(tag);
    fill_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(x), n, seed, lo,
                                                                hi - lo);
  });
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
