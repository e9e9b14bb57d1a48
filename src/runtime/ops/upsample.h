// Nearest-neighbour 2× upsampling of the last two dims (the Wan VAE's spatial upsampler,
// torch's F.interpolate(scale_factor=2, mode="nearest-exact")): x [..., H, W] F32 ->
// [..., 2H, 2W], out[..., i, j] = x[..., i/2, j/2].
#pragma once

#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

Tensor upsample_nearest2x(Exec& ex, const Tensor& x);

}  // namespace mova
