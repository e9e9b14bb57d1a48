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
    const int64_t row = i / n, pos = first + i % n;
    const int64_t ci = row / taps, tap = row % taps;
    const int64_t ta = tap / (a.kh * a.kw), tb = tap / a.kw % a.kh, tc = tap % a.kw;
    const int64_t ow = pos % a.out_w, oh = pos / a.out_w % a.out_h, ot = pos / (a.out_w * a.out_h);
    const int64_t ti = ot * a.stride_t - a.pad_t + ta;
    const int64_t hi = oh * a.stride_h - a.pad_h + tb;
    const int64_t wi = ow * a.stride_w - a.pad_w + tc * a.dilation_w;
    float v = 0.0f;
    if (ti >= 0 && ti < a.t && hi >= 0 && hi < a.h && wi >= 0 && wi < a.w)
      v = a.x[((ci * a.t + ti) * a.h + hi) * a.w + wi];
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
    float sum = 0.0f;
    for (int64_t k = 0; k < a.k; ++k) {
      // o = pos·stride − padding + k·dilation for an input position pos of this chunk.
      const int64_t num = o + a.padding - k * a.dilation;
      if (num < 0 || num % a.stride != 0) continue;
      const int64_t pos = num / a.stride;
      if (pos < first || pos >= first + n) continue;
      sum += a.cols[(co * a.k + k) * n + (pos - first)];
    }
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
  // The outputs this chunk reaches: from its first input's first tap to its last input's last.
  int64_t o_begin = first * args.stride - args.padding;
  int64_t o_end = (first + n - 1) * args.stride - args.padding + (args.k - 1) * args.dilation + 1;
  o_begin = o_begin < 0 ? 0 : o_begin;
  o_end = o_end > args.out_len ? args.out_len : o_end;
  if (o_end <= o_begin) return;
  const int64_t total = args.c_out * (o_end - o_begin);
  transposed_gather_kernel<<<grid_for(total, kThreads), kThreads, 0, stream>>>(
      args, first, n, o_begin, o_end - o_begin);
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
