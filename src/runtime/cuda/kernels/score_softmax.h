// The row softmax of attention composed from GEMMs (cuda_backend.cc, for head sizes the fused
// kernels in attention.h do not take): P = softmax(S·scale + bias + mask) over each row of F32
// scores, with attention.h's semantics (a padded key adds −FLT_MAX, so a fully padded row
// becomes uniform, as in PyTorch). One block per row; F32 arithmetic.
#pragma once

#include <cstdint>
#include <initializer_list>

#include <cuda_runtime_api.h>

#include "runtime/dtype.h"

namespace mova::cuda {

struct ScoreSoftmaxArgs {
  const float* scores = nullptr;  // [rows, cols] F32, row stride cols
  void* probs = nullptr;          // [rows, cols] in probs_dtype; may alias scores when F32
  DType probs_dtype = DType::kF32;
  int64_t rows = 0, cols = 0;
  float scale = 1.0f;
  const float* bias = nullptr;      // optional [rows, cols] F32, row stride cols
  const float* key_mask = nullptr;  // optional [cols] F32; 0 marks a padded key

  // The device pointers this struct carries into a kernel; the CUDA emulator
  // (tests/cuda_emulator) checks each as it checks a kernel's plain pointer arguments.
  template <class F>
  void for_each_pointer(F&& f) const {
    for (const void* p : {static_cast<const void*>(scores), static_cast<const void*>(probs),
                          static_cast<const void*>(bias), static_cast<const void*>(key_mask)})
      f(p);
  }
};

void score_softmax(const ScoreSoftmaxArgs& args, cudaStream_t stream = nullptr);

}  // namespace mova::cuda
