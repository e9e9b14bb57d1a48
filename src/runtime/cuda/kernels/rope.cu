#include "runtime/cuda/kernels/rope.h"

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/element_io.cuh"

namespace mova::cuda {
namespace {

constexpr int kThreads = 256;

// One thread per rotated pair: n = B·L·H·D/2.
template <typename T>
__global__ void interleaved_kernel(const T* x, T* y, RopeShape s, const double* angle) {
  const int64_t pairs = s.head_dim / 2, n = s.batch * s.length * s.heads * pairs;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const int64_t j = i % pairs, l = (i / (pairs * s.heads)) % s.length;
    double sn, cs;
    sincos(angle[l * pairs + j], &sn, &cs);
    const double re = load(x + 2 * i), im = load(x + 2 * i + 1);
    store(y + 2 * i, static_cast<float>(re * cs - im * sn));
    store(y + 2 * i + 1, static_cast<float>(re * sn + im * cs));
  }
}

template <typename T>
__global__ void rotate_half_kernel(const T* x, T* y, RopeShape s, const float* cos,
                                   const float* sin) {
  const int64_t half = s.head_dim / 2, n = s.batch * s.length * s.heads * half;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const int64_t j = i % half, row = i / half, l = (row / s.heads) % s.length;
    const T* src = x + row * s.head_dim;
    T* dst = y + row * s.head_dim;
    const float* c = cos + l * s.head_dim;
    const float* sn = sin + l * s.head_dim;
    const float a = load(src + j), b = load(src + j + half);
    store(dst + j, a * c[j] - b * sn[j]);
    store(dst + j + half, b * c[j + half] + a * sn[j + half]);
  }
}

void check_shape(const RopeShape& s, const char* op) {
  MOVA_CHECK(s.batch >= 0 && s.length >= 0 && s.heads >= 0 && s.head_dim > 0 && s.head_dim % 2 == 0,
             ErrorKind::kShape, "CUDA ", op, ": [", s.batch, ", ", s.length, ", ", s.heads, ", ",
             s.head_dim, "] must be [B, L, H, D] with even D");
}

}  // namespace

void rope_interleaved(const void* x, void* y, DType dtype, const RopeShape& shape,
                      const double* angle, cudaStream_t stream) {
  check_shape(shape, "rope_interleaved");
  const int64_t n = shape.batch * shape.length * shape.heads * shape.head_dim / 2;
  if (n == 0) return;
  dispatch_storage(dtype, "rope_interleaved", [&](auto tag) {
    using T = decltype(tag);
    interleaved_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), shape, angle);
  });
  MOVA_CUDA_CHECK(cudaGetLastError());
}

void rope_rotate_half(const void* x, void* y, DType dtype, const RopeShape& shape, const float* cos,
                      const float* sin, cudaStream_t stream) {
  check_shape(shape, "rope_rotate_half");
  const int64_t n = shape.batch * shape.length * shape.heads * shape.head_dim / 2;
  if (n == 0) return;
  dispatch_storage(dtype, "rope_rotate_half", [&](auto tag) {
    using T = decltype(tag);
    rotate_half_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), shape, cos, sin);
  });
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
