// GEMM on the GPU through cuBLASLt, with the CPU GEMM's conventions (runtime/cpu/gemm.h):
// row-major C[m,n] (+)= op(A)[m,k] · op(B)[k,n] (+ bias[n]); trans_b means B is stored [n,k],
// torch's Linear weight layout. All pointers are device pointers.
//
// A and B share a dtype, F32 or BF16; C is F32 or BF16 (then with BF16 A and B); accumulation
// and scaling are F32.
// F32 inputs use CUBLAS_COMPUTE_32F, never TF32, so the F32 path keeps the CPU's numerics.
// Descriptors and the heuristic's algorithm are built once per problem layout and reused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include <cuda_runtime_api.h>

#include "runtime/dtype.h"

namespace mova::cuda {

struct DeviceGemm {
  int64_t m = 0, n = 0, k = 0;
  const void* a = nullptr;
  int64_t lda = 0;
  bool trans_a = false;  // A stored [k, m]
  const void* b = nullptr;
  int64_t ldb = 0;
  bool trans_b = false;  // B stored [n, k]
  DType ab_dtype = DType::kF32;
  void* c = nullptr;
  int64_t ldc = 0;
  DType c_dtype = DType::kF32;
  // [n], optional, in C's dtype (cuBLASLt's default bias type): F32 for an F32 C, BF16 for a
  // BF16 C; the epilogue adds it to the F32 accumulator before C is rounded.
  const void* bias = nullptr;
  bool accumulate = false;  // C += A·B
};

class Blas {
 public:
  // A cuBLASLt handle and its workspace on `device`.
  explicit Blas(int device);
  ~Blas();
  Blas(const Blas&) = delete;
  Blas& operator=(const Blas&) = delete;

  // Enqueues the GEMM on `stream` (the legacy default stream when null). All GEMMs share one
  // workspace, so they must be ordered with each other: one stream for all of them (the
  // backend's ops all run on the legacy default stream), or a workspace per stream.
  void gemm(const DeviceGemm& g, cudaStream_t stream = nullptr);

  // How many distinct GEMM plans (descriptors + chosen algorithm) are cached: one per shape,
  // layout, dtype, epilogue and alignment seen. For tests.
  size_t cached_plans() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mova::cuda
