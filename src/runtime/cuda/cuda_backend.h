// The CUDA backend: runtime/ops/ on one GPU. Device tensors are pooled cudaMalloc memory; GEMMs
// go through cuBLASLt and the rest through the kernels in kernels/. Work is queued on the
// device's default stream, so ops run in order; a copy to the host waits for them.
//
// Precision (runtime/backend.h): activations stay F32 as on the CPU. kF32 (the parity path) widens
// BF16 weights to F32 per GEMM and computes in strict F32 (no TF32): results match the CPU to
// ~1e-5. kBF16 (the speed path) rounds GEMM and attention inputs to BF16 and accumulates in F32:
// tensor cores, with the error budget of tests/cuda (max-rel 1e-2, cosine > 0.9999 per op).
#pragma once

#include <memory>

#include "runtime/backend.h"

namespace mova::cuda {

// Opens GPU `index` and registers its backend for as long as the returned object lives.
// Throws kUnsupported naming the device when there is no such GPU (none at all: saying so).
std::unique_ptr<Backend> open_backend(int index, Precision precision = Precision::kF32);

}  // namespace mova::cuda
