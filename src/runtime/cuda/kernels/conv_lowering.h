// The gathers that lower convolutions to cuBLASLt GEMMs: im2col for conv3d and conv1d (one
// kernel, per-axis stride, padding and dilation), and the column-to-output gather of the
// transposed conv1d. Inputs F32; columns F32 or BF16 (the GEMM's operand dtype).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "runtime/cuda/kernels/conv_lowering_index.h"
#include "runtime/dtype.h"

namespace mova::cuda {

// cols [K, n] row-major, K = c_in·kt·kh·kw in weight order (ci, a, b, c), for the output
// positions [first, first + n) in (t, h, w) order; taps outside the input read 0.
void im2col(const Im2Col& args, int64_t first, int64_t n, void* cols, DType cols_dtype,
            cudaStream_t stream = nullptr);

// Adds transposed_gather_sum to every output the chunk reaches (conv_lowering_index.h).
void transposed_conv_gather(const TransposedGather& args, int64_t first, int64_t n,
                            cudaStream_t stream = nullptr);

}  // namespace mova::cuda
