// Rotary position embeddings on device memory, the two conventions of runtime/ops/rope.h.
// x and y are contiguous [B, L, H, D] (F32 or BF16 storage; y may alias x).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "runtime/dtype.h"

namespace mova::cuda {

struct RopeShape {
  int64_t batch = 0, length = 0, heads = 0, head_dim = 0;
};

// Interleaved (Wan self-attention): pair (2j, 2j+1) rotated by angle[l·D/2 + j], computed in
// float64 as upstream does; `angle` is a device array of L·D/2 doubles.
void rope_interleaved(const void* x, void* y, DType dtype, const RopeShape& shape,
                      const double* angle, cudaStream_t stream = nullptr);

// Rotate-half (the bridge): channel j pairs with j + D/2; cos and sin are device [L, D] F32.
void rope_rotate_half(const void* x, void* y, DType dtype, const RopeShape& shape, const float* cos,
                      const float* sin, cudaStream_t stream = nullptr);

}  // namespace mova::cuda
