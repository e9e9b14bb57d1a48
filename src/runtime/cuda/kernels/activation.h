// Elementwise activations on device memory, y = act(x) (y may be x: in place), computed in F32
// whatever the storage (F32 or BF16, rounded to nearest even on the way back, as the CPU path
// rounds). Out of place is one pass where a copy and then an in-place pass would be two.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

#include "runtime/dtype.h"

namespace mova::cuda {

enum class Activation { kSilu, kGeluTanh, kGeluErf };

void activation(Activation act, const void* x, void* y, DType dtype, int64_t n,
                cudaStream_t stream = nullptr);

}  // namespace mova::cuda
