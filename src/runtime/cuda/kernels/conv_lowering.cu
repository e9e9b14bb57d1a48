#include "runtime/cuda/kernels/conv_lowering.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/element_io.cuh"

namespace mova::cuda {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void im2col_kernel(Im2Col a, int64_t first, int64_t n, T* cols) {
  const int64_t taps = a.kt * a.kh * a.kw, total = a.c_in * taps * n;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    // Consecutive threads take consecutive output positions of one row: coalesced stores.
    const int64_t src = im2col_source(a, i / n, first + i % n);
    const float v = src < 0 ? 0.0f : a.x[src];
    store(cols + i, v);
  }
}

__global__ void transposed_gather_kernel(TransposedGather a, int64_t first, int64_t n,
                                         int64_t o_begin, int64_t o_count) {
  const int64_t total = a.c_out * o_count;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += step) {
    const int64_t co = i / o_count, o = o_begin + i % o_count;
    const float sum = transposed_gather_sum(a, first, n, co, o);
    a.out[co * a.out_len + o] += sum;
  }
}

}  // namespace

void im2col(const Im2Col& args, int64_t first, int64_t n, void* cols, DType cols_dtype,
            cudaStream_t stream) {
  const int64_t total = args.c_in * args.kt * args.kh * args.kw * n;
  if (total == 0) return;
  dispatch_storage(cols_dtype, "im2col", [&](auto tag) {
    using T = decltype(tag);
    im2col_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(args, first, n,
                                                                      static_cast<T*>(cols));
  });
  MOVA_CUDA_CHECK(cudaGetLastError());
}

void transposed_conv_gather(const TransposedGather& args, int64_t first, int64_t n,
                            cudaStream_t stream) {
  if (n == 0 || args.c_out == 0) return;
  int64_t o_begin = 0, o_end = 0;
  transposed_gather_range(args, first, n, &o_begin, &o_end);
  if (o_end <= o_begin) return;
  const int64_t total = args.c_out * (o_end - o_begin);
  transposed_gather_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(
      args, first, n, o_begin, o_end - o_begin);
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
