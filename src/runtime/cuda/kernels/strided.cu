#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/element_io.cuh"
#include "runtime/cuda/kernels/strided.h"

namespace mova::cuda {
namespace {

constexpr int kThreads = 256;

// The offset (elements) of linear index i of `shape` in a view with `strides`.
__device__ __forceinline__ int64_t offset_of(int64_t i, const StridedLayout& l) {
  int64_t off = 0;
  for (int d = l.rank - 1; d >= 0; --d) {
    const int64_t idx = i % l.shape[d];
    i /= l.shape[d];
    off += idx * l.strides[d];
  }
  return off;
}

int64_t numel(const StridedLayout& l) {
  int64_t n = 1;
  for (int d = 0; d < l.rank; ++d) n *= l.shape[d];
  return n;
}

template <typename D, typename S>
__global__ void convert_kernel(D* dst, StridedLayout dl, const S* src, StridedLayout sl,
                               int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    store(dst + offset_of(i, dl), load(src + offset_of(i, sl)));
}

template <typename T>
__global__ void bits_kernel(T* dst, StridedLayout dl, const T* src, StridedLayout sl, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    dst[offset_of(i, dl)] = src[offset_of(i, sl)];
}

__global__ void binary_kernel(BinaryOp op, float* out, StridedLayout ol, const float* a,
                              StridedLayout al, const float* b, StridedLayout bl, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    const float x = a[offset_of(i, al)], y = b[offset_of(i, bl)];
    float r;
    switch (op) {
      case BinaryOp::kAdd:
        r = x + y;
        break;
      case BinaryOp::kSub:
        r = x - y;
        break;
      case BinaryOp::kMul:
        r = x * y;
        break;
      default:
        r = x / y;
        break;
    }
    out[offset_of(i, ol)] = r;
  }
}

__global__ void affine_kernel(float* out, StridedLayout ol, const float* x, StridedLayout xl,
                              float scale, float shift, int64_t n) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    out[offset_of(i, ol)] = __fadd_rn(__fmul_rn(x[offset_of(i, xl)], scale), shift);
}

}  // namespace

void copy_strided(void* dst, DType dst_dtype, const StridedLayout& dl, const void* src,
                  DType src_dtype, const StridedLayout& sl, cudaStream_t stream) {
  const int64_t n = numel(dl);
  if (n == 0) return;
  const int blocks = grid_for(n, kThreads);
  if (dst_dtype == src_dtype) {
    auto launch = [&](auto tag) {
      using T = decltype(tag);
      bits_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<T*>(dst), dl,
                                                   static_cast<const T*>(src), sl, n);
    };
    switch (dtype_size(dst_dtype)) {
      case 1:
        launch(uint8_t{});
        break;
      case 2:
        launch(uint16_t{});
        break;
      case 4:
        launch(uint32_t{});
        break;
      case 8:
        launch(uint64_t{});
        break;
      default:
        fail(ErrorKind::kInternal, "CUDA copy: element size ", dtype_size(dst_dtype));
    }
  } else {
    dispatch_float(dst_dtype, "copy", [&](auto dtag) {
      dispatch_float(src_dtype, "copy", [&](auto stag) {
        using D = decltype(dtag);
        using S = decltype(stag);
        convert_kernel<<<blocks, kThreads, 0, stream>>>(static_cast<D*>(dst), dl,
                                                        static_cast<const S*>(src), sl, n);
      });
    });
  }
  MOVA_CUDA_CHECK(cudaGetLastError());
}

void binary_strided(BinaryOp op, float* out, const StridedLayout& ol, const float* a,
                    const StridedLayout& al, const float* b, const StridedLayout& bl,
                    cudaStream_t stream) {
  const int64_t n = numel(ol);
  if (n == 0) return;
  binary_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(op, out, ol, a, al, b, bl, n);
  MOVA_CUDA_CHECK(cudaGetLastError());
}

void affine_strided(float* out, const StridedLayout& ol, const float* x, const StridedLayout& xl,
                    float scale, float shift, cudaStream_t stream) {
  const int64_t n = numel(ol);
  if (n == 0) return;
  affine_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(out, ol, x, xl, scale, shift, n);
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
