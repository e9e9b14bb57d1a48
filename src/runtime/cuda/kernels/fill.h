// Fills device memory with seeded uniform values on the device: benchmarks' random weights at
// the published sizes (hundreds of MB, too slow to draw on the host and upload).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "runtime/dtype.h"

namespace mova::cuda {

// x[i] = lo + (hi − lo)·u(seed, i), u a counter-based hash in [0, 1); F32 or BF16 storage.
void fill_uniform(void* x, DType dtype, int64_t n, uint64_t seed, float lo, float hi,
                  cudaStream_t stream = nullptr);

}  // namespace mova::cuda
