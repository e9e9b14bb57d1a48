// Rotary position embeddings, in the two conventions MOVA uses:
// - interleaved (Wan DiT self-attention): channels (2j, 2j+1) of a head form one complex number
//   rotated by angle[pos, j]; upstream computes the rotation in float64, and so do we;
// - rotate-half (the bridge's cross-attention): channel j pairs with j + head_dim/2, rotated in
//   float32 with cos/sin tables over the full head_dim.
#pragma once

#include <vector>

#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

// Angles for `positions` tokens × `pairs` frequency pairs: `angle` is F64 [positions, pairs],
// contiguous, on the device of the tensors it rotates (a model moves it there once per pass).
struct RopeAngles {
  int64_t positions = 0;
  int64_t pairs = 0;
  Tensor angle;

  // The angles of positions [first, first + n), for a chunk of those tokens.
  RopeAngles rows(int64_t first, int64_t n) const { return {n, pairs, angle.narrow(0, first, n)}; }
};

// x [B, L, H, D] with D = 2·pairs and L = angles.positions; returns a new tensor of x's dtype.
// Both RoPEs take F32, or on a device also BF16 (rotated in F32/F64, rounded once; handoff.h).
Tensor rope_interleaved(Exec& ex, const Tensor& x, const RopeAngles& angles);

// x [B, L, H, D]; cos, sin [L, D] F32 (the frequency vector repeated over both halves).
Tensor rope_rotate_half(Exec& ex, const Tensor& x, const Tensor& cos, const Tensor& sin);

}  // namespace mova
