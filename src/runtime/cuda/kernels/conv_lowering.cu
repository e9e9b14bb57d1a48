#include "runtime/cuda/kernels/conv_lowering.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/element_io.cuh"

namespace mova::cuda {
namespace {

constexpr int kThreads = 256;

// One thread per output position (x) and input channel (y, looping when there are more than
// the grid has rows): the window is placed once, then its kt·kh·kw taps go down the column's
// rows. Consecutive threads take consecutive positions of each row, so the stores (and, at
// stride 1, the loads) are coalesced, and nothing is divided per element: the first version,
// a 64-bit division chain per element, took 82 % of a 360p video decode's GPU time on an H200.
template <typename T>
__global__ void im2col_kernel(Im2Col a, int64_t first, int64_t n, T* cols) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= n) return;
  const Im2ColWindow win = im2col_window(a, first + j);
  const int64_t taps = a.kt * a.kh * a.kw;
  for (int64_t ci = blockIdx.y; ci < a.c_in; ci += gridDim.y) {
    T* out = cols + ci * taps * n + j;
    for (int64_t ta = 0; ta < a.kt; ++ta)
      for (int64_t tb = 0; tb < a.kh; ++tb)
        for (int64_t tc = 0; tc < a.kw; ++tc, out += n) {
          const int64_t src = im2col_tap_source(a, win, ci, ta, tb, tc);
          store(out, src < 0 ? 0.0f : a.x[src]);
        }
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
  if (n == 0 || args.c_in * args.kt * args.kh * args.kw == 0) return;
  const dim3 grid(static_cast<unsigned>((n + kThreads - 1) / kThreads),
                  static_cast<unsigned>(args.c_in < 65535 ? args.c_in : 65535));
  dispatch_storage(cols_dtype, "im2col", [&](auto tag) {
    using T = decltype(tag);
    im2col_kernel<<<grid, kThreads, 0, stream>>>(args, first, n, static_cast<T*>(cols));
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
