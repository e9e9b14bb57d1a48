// Elementwise activations on device memory, in place, computed in F32 whatever the storage
// (F32 or BF16, rounded to nearest even on the way back, as the CPU path rounds).
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "runtime/dtype.h"

namespace mova::cuda {

enum class Activation { kSilu, kGeluTanh, kGeluErf };

void activation_inplace(Activation act, void* x, DType dtype, int64_t n,
                        cudaStream_t stream = nullptr);

}  // namespace mova::cuda
