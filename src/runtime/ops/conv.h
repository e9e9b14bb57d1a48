// 1-D convolutions over a single sequence (batch 1), as torch.nn.functional.conv1d and
// conv_transpose1d compute them. Lowered to the GEMM through im2col / col2im over chunks of
// the sequence, so memory stays bounded for long audio.
#pragma once

#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

struct Conv1dParams {
  int64_t stride = 1;
  int64_t padding = 0;  // zeros on both sides
  int64_t dilation = 1;
  int64_t output_padding = 0;  // transposed only: extra outputs at the end
};

// x [C_in, L] F32, weight [C_out, C_in, K] (any float dtype), bias [C_out] or null.
// Returns [C_out, (L + 2p − d(K−1) − 1)/s + 1].
Tensor conv1d(Exec& ex, const Tensor& x, const Tensor& weight, const Tensor* bias,
              const Conv1dParams& p);

// x [C_in, L] F32, weight [C_in, C_out, K] (torch's transposed layout), bias [C_out] or null.
// Returns [C_out, (L − 1)s − 2p + d(K − 1) + output_padding + 1].
Tensor conv_transpose1d(Exec& ex, const Tensor& x, const Tensor& weight, const Tensor* bias,
                        const Conv1dParams& p);

}  // namespace mova
