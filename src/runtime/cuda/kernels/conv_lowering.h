// The gathers that lower convolutions to cuBLASLt GEMMs: im2col for conv3d and conv1d (one
// kernel, per-axis stride, padding and dilation), and the column-to-output gather of the
// transposed conv1d. Inputs F32; columns F32 or BF16 (the GEMM's operand dtype).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "runtime/dtype.h"

namespace mova::cuda {

// x [C_in, T, H, W] contiguous F32; a kernel of kt × kh × kw taps, output [To, Ho, Wo].
struct Im2Col {
  const float* x = nullptr;
  int64_t c_in = 0, t = 1, h = 1, w = 1;
  int64_t kt = 1, kh = 1, kw = 1;
  int64_t stride_t = 1, stride_h = 1, stride_w = 1;
  int64_t pad_t = 0, pad_h = 0, pad_w = 0;  // front / top / left (the far sides follow)
  int64_t dilation_w = 1;                   // conv1d's dilation (its length is the w axis)
  int64_t out_t = 1, out_h = 1, out_w = 1;
};

// cols [K, n] row-major, K = c_in·kt·kh·kw in weight order (ci, a, b, c), for the output
// positions [first, first + n) in (t, h, w) order; taps outside the input read 0.
void im2col(const Im2Col& args, int64_t first, int64_t n, void* cols, DType cols_dtype,
            cudaStream_t stream = nullptr);

// conv_transpose1d's gather: cols [C_out·K, n] (row co·K + k) holds the taps of input
// positions [first, first + n); out [C_out, L_out] F32 gets, at every output o, the sum over
// (i, k) of cols with o = i·stride − padding + k·dilation, added to what it holds.
struct TransposedGather {
  const float* cols = nullptr;
  float* out = nullptr;
  int64_t c_out = 0, k = 0, out_len = 0;
  int64_t stride = 1, padding = 0, dilation = 1;
};
void transposed_conv_gather(const TransposedGather& args, int64_t first, int64_t n,
                            cudaStream_t stream = nullptr);

}  // namespace mova::cuda
