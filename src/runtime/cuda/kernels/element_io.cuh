// Device-side helpers shared by the kernels: F32/BF16 element loads and stores (arithmetic is
// always F32; BF16 is rounded to nearest even on the way back, as the CPU path rounds) and
// warp-wide reductions.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>

#include "runtime/dtype.h"
#include "runtime/error.h"

namespace mova::cuda {

__device__ __forceinline__ float load(const float* p) {
  return *p;
}
__device__ __forceinline__ float load(const __nv_bfloat16* p) {
  return __bfloat162float(*p);
}

__device__ __forceinline__ float load(const __half* p) {
  return __half2float(*p);
}

__device__ __forceinline__ void store(float* p, float v) {
  *p = v;
}
__device__ __forceinline__ void store(__nv_bfloat16* p, float v) {
  *p = __float2bfloat16_rn(v);
}
__device__ __forceinline__ void store(__half* p, float v) {
  *p = __float2half_rn(v);
}

constexpr unsigned kFullWarp = 0xffffffffu;

struct SumOp {
  static constexpr float kIdentity = 0.0f;
  __device__ __forceinline__ float operator()(float a, float b) const { return a + b; }
};
struct MaxOp {
  static constexpr float kIdentity = -INFINITY;
  __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

template <class Op>
__device__ __forceinline__ float warp_reduce(float v, Op op) {
  for (int offset = 16; offset > 0; offset /= 2) v = op(v, __shfl_xor_sync(kFullWarp, v, offset));
  return v;
}

// Block-wide reduction (blockDim.x a multiple of 32, scratch ≥ blockDim.x / 32 floats); every
// thread gets the result. Safe to call back to back with the same scratch.
template <class Op>
__device__ __forceinline__ float block_reduce(float v, float* scratch, Op op) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  v = warp_reduce(v, op);
  __syncthreads();  // scratch may still be read from a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = threadIdx.x < blockDim.x / 32 ? scratch[threadIdx.x] : Op::kIdentity;
  if (warp == 0) v = warp_reduce(v, op);
  if (threadIdx.x == 0) scratch[0] = v;
  __syncthreads();
  return scratch[0];
}

__device__ __forceinline__ float warp_sum(float v) {
  return warp_reduce(v, SumOp{});
}
__device__ __forceinline__ float warp_max(float v) {
  return warp_reduce(v, MaxOp{});
}
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  return block_reduce(v, scratch, SumOp{});
}
__device__ __forceinline__ float block_max(float v, float* scratch) {
  return block_reduce(v, scratch, MaxOp{});
}

// Grid size for a grid-stride loop over n elements.
inline int grid_for(int64_t n, int threads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<int>(blocks < 65535 ? blocks : 65535);
}

// Calls fn(T{}) with T the storage type of `dtype` (float or __nv_bfloat16); other dtypes are a
// kUnsupported error naming `op`.
template <typename Fn>
void dispatch_storage(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::kF32:
      fn(float{});
      break;
    case DType::kBF16:
      fn(__nv_bfloat16{});
      break;
    default:
      fail(ErrorKind::kUnsupported, "CUDA ", op, ": dtype ", dtype_name(dtype),
           " (F32 and BF16 are supported)");
  }
}

// dispatch_storage plus F16: for kernels that only convert (copies), where F16 checkpoints
// matter; compute kernels stay F32/BF16.
template <typename Fn>
void dispatch_float(DType dtype, const char* op, Fn&& fn) {
  if (dtype == DType::kF16) {
    fn(__half{});
  } else if (dtype == DType::kF32 || dtype == DType::kBF16) {
    dispatch_storage(dtype, op, fn);
  } else {
    fail(ErrorKind::kUnsupported, "CUDA ", op, ": dtype ", dtype_name(dtype),
         " (F32, BF16 and F16 convert; other dtypes copy unchanged only)");
  }
}

}  // namespace mova::cuda
