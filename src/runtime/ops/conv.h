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

struct Conv3dParams {
  int64_t stride_t = 1, stride_h = 1, stride_w = 1;
  // Zero padding per side; causal video convs pad only the front of the time axis.
  int64_t pad_t_front = 0, pad_t_back = 0, pad_top = 0, pad_bottom = 0, pad_left = 0, pad_right = 0;
};

// x [C_in, T, H, W] F32, weight [C_out, C_in, kt, kh, kw] (any float dtype; a 4-D conv2d
// weight [C_out, C_in, kh, kw] is taken as kt = 1), bias [C_out] or null. Returns
// [C_out, T', H', W'].
Tensor conv3d(Exec& ex, const Tensor& x, const Tensor& weight, const Tensor* bias,
              const Conv3dParams& p);

// Output sizes for arguments the ops have accepted (backends size their results with these).
int64_t conv1d_output_length(int64_t length, int64_t kernel, const Conv1dParams& p);
int64_t conv_transpose1d_output_length(int64_t length, int64_t kernel, const Conv1dParams& p);
// x [C_in, T, H, W], weight [C_out, C_in, kt, kh, kw] -> [C_out, T', H', W'].
Shape conv3d_output_shape(const Shape& x, const Shape& weight, const Conv3dParams& p);

}  // namespace mova
