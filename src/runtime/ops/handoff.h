// What dtype an activation is handed from one op to the next in.
//
// On the CPU, and on a device backend's F32 path, every activation is F32. On a device
// backend's BF16 path (runtime/backend.h) GEMMs and attention read their operands in BF16, so
// a result that only ever feeds such operands is stored in BF16 straight away: half the bytes
// to write, keep and read, and no conversion pass before each GEMM. The ops involved compute
// in F32 and round their result once, as upstream's bf16 PyTorch modules do:
// - layer_norm, layer_norm_modulate and attention return BF16 there (runtime/ops/norm.h,
//   attention.h); their results feed GEMMs in every model;
// - linear returns BF16 there when its caller says the result is an operand (LinearResult);
// - rms_norm, the two RoPEs, gelu and silu return their input's dtype, so a chain such as
//   linear → RMS norm → RoPE → attention stays in BF16;
// - linear, attention and those ops take BF16 inputs on a device only: the CPU is F32.
#pragma once

#include "runtime/tensor.h"

namespace mova {

// What a linear's result feeds. kOperand: only GEMMs and attention, directly or through the
// dtype-keeping ops above (RMS norm, RoPE, gelu, silu); never a residual sum or anything else
// that needs F32. A backend may then store it in its operand dtype (BF16 on a BF16 path).
enum class LinearResult { kF32, kOperand };

// Throws kShape naming `op` unless x is F32, or BF16 on a device.
void check_handoff_dtype(const Tensor& x, const char* op);

}  // namespace mova
