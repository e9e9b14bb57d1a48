// Element-wise kernels over strided device tensors (views of any rank up to kMaxRank): the
// copies behind contiguous() and dtype conversion, PyTorch-broadcast binary ops, and affine.
// Float storage F32, BF16 or F16 is converted through F32 (BF16/F16 rounded to nearest even,
// as the CPU converts); equal dtypes of any kind copy bits.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "runtime/dtype.h"
#include "runtime/ops/binary_op.h"

namespace mova::cuda {

constexpr int kMaxRank = 8;

// Shape and strides (in elements) of a view; broadcast dimensions have stride 0.
struct StridedLayout {
  int rank = 0;
  int64_t shape[kMaxRank] = {};
  int64_t strides[kMaxRank] = {};
};

// dst[i] = src[i] over the shape both layouts share.
void copy_strided(void* dst, DType dst_dtype, const StridedLayout& dst_layout, const void* src,
                  DType src_dtype, const StridedLayout& src_layout, cudaStream_t stream = nullptr);

// out[i] = a[i] op b[i] in F32: out contiguous over `shape` (out_layout.shape), a and b laid
// out over the same shape with broadcast strides.
void binary_strided(BinaryOp op, float* out, const StridedLayout& out_layout, const float* a,
                    const StridedLayout& a_layout, const float* b, const StridedLayout& b_layout,
                    cudaStream_t stream = nullptr);

// out[i] = x[i]·scale + shift in F32, out contiguous.
void affine_strided(float* out, const StridedLayout& out_layout, const float* x,
                    const StridedLayout& x_layout, float scale, float shift,
                    cudaStream_t stream = nullptr);

}  // namespace mova::cuda
