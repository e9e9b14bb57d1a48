#include "runtime/cuda/kernels/gather.h"

#include <cmath>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/element_io.cuh"

namespace mova::cuda {
namespace {

constexpr int kThreads = 256;

// One thread per output element, in output order (coalesced writes): rows of the table read
// along a row, or, transposed, the same column of many small-table rows (which stay in cache).
template <typename T>
__global__ void gather_rows_kernel(const T* table, int64_t rows, int64_t dim,
                                   const int64_t* indices, int64_t count, float* out,
                                   bool transposed) {
  const int64_t total = count * dim;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    const int64_t m = transposed ? i % count : i / dim, c = transposed ? i / count : i % dim;
    const int64_t r = indices[m];
    out[i] = r >= 0 && r < rows ? load(table + r * dim + c) : NAN;
  }
}

}  // namespace

void gather_rows(const void* table, DType dtype, int64_t rows, int64_t dim, const int64_t* indices,
                 int64_t count, float* out, bool transposed, cudaStream_t stream) {
  if (count * dim == 0) return;
  dispatch_float(dtype, "gather_rows", [&](auto tag) {
    using T = decltype(tag);
    gather_rows_kernel<<<grid_for(count * dim, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(table), rows, dim, indices, count, out, transposed);
  });
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
