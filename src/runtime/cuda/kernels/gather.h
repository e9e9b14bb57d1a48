// Rows of a table by index on device memory (runtime/ops/gather.h).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "runtime/dtype.h"

namespace mova::cuda {

// out [count, dim] F32 = table [rows, dim] (F32, BF16 or F16) at `indices` (device I64), or
// out [dim, count] when `transposed`; an index outside [0, rows) gives a NaN row (column)
// instead of a read outside the table.
void gather_rows(const void* table, DType dtype, int64_t rows, int64_t dim, const int64_t* indices,
                 int64_t count, float* out, bool transposed, cudaStream_t stream = nullptr);

}  // namespace mova::cuda
