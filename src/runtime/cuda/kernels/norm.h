// Row normalisations on device memory, one block per row of `dim` contiguous elements. Storage
// F32 or BF16; statistics and arithmetic in F32; parameters are F32 device vectors of length
// dim, each optional (null).
#pragma once

#include <cstdint>
#include <initializer_list>

#include <cuda_runtime_api.h>

#include "runtime/dtype.h"

namespace mova::cuda {

// The DiT's adaLN in one pass: y = LayerNorm(x)·w + b (biased variance, like torch), then, when
// given, y·(1 + scale) + shift.
struct LayerNormParams {
  const float* weight = nullptr;
  const float* bias = nullptr;
  const float* shift = nullptr;
  const float* scale = nullptr;
  float eps = 1e-6f;

  // The device pointers this struct carries into a kernel; the CUDA emulator
  // (tests/cuda_emulator) checks each as it checks a kernel's plain pointer arguments.
  template <class F>
  void for_each_pointer(F&& f) const {
    for (const float* p : {weight, bias, shift, scale}) f(p);
  }
};
// x and y may differ in dtype (the F32 residual stream in, BF16 activations out) and may alias
// when they do not.
void layer_norm_modulate(const void* x, DType x_dtype, void* y, DType y_dtype, int64_t rows,
                         int64_t dim, const LayerNormParams& params, cudaStream_t stream = nullptr);

// y = x / sqrt(mean(x²) + eps) · w (T5 / Wan q-k norm).
void rms_norm(const void* x, void* y, DType dtype, int64_t rows, int64_t dim, const float* weight,
              float eps, cudaStream_t stream = nullptr);

}  // namespace mova::cuda
