// The DiT's gated residual on device memory: out[r, c] = x[r, c] + gate[c] · y[r, c] over rows
// of `dim` (out may be x: in place). The residual stream stays F32 (as on the CPU); y is F32 or
// BF16; gate (F32, length dim) may be null for a plain residual add.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "runtime/dtype.h"

namespace mova::cuda {

void residual_gate(const float* x, const void* y, DType y_dtype, int64_t rows, int64_t dim,
                   const float* gate, float* out, cudaStream_t stream = nullptr);

}  // namespace mova::cuda
