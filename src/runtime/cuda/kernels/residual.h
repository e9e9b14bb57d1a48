// The DiT's gated residual on device memory: x[r, c] += gate[c] · y[r, c] over rows of `dim`.
// The residual stream x stays F32 (as on the CPU); y is F32 or BF16; gate (F32, length dim) may
// be null for a plain residual add.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "runtime/dtype.h"

namespace mova::cuda {

void residual_gate(float* x, const void* y, DType y_dtype, int64_t rows, int64_t dim,
                   const float* gate, cudaStream_t stream = nullptr);

}  // namespace mova::cuda
