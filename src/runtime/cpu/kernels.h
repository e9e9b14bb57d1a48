// Raw-pointer CPU kernels behind the tensor ops in runtime/ops/. Rows are contiguous; row
// kernels are threaded over rows, pointwise kernels over chunks of elements.
#pragma once

#include <cmath>
#include <cstdint>

namespace mova {
class ThreadPool;
}

namespace mova::cpu {

// SiLU of one value; shared by the unary kernel and ops that fuse it (the video VAE's norm).
inline float silu(float x) {
  return x / (1.0f + std::exp(-x));
}

enum class Unary { kGeluTanh, kGeluErf, kSilu };
void unary(Unary op, const float* x, float* y, int64_t n, ThreadPool* pool);

// x[i] = exp(x[i] − shift) in place; returns their sum (an online softmax's row step).
float exp_shifted_sum(float* x, int64_t n, float shift);

// y = softmax(x) per row, computed as exp(x - max) / sum in f32.
void softmax_rows(const float* x, float* y, int64_t rows, int64_t dim, ThreadPool* pool);

// y = (x - mean) / sqrt(var + eps) * w + b per row (biased variance); w, b optional.
void layer_norm_rows(const float* x, float* y, int64_t rows, int64_t dim, const float* w,
                     const float* b, float eps, ThreadPool* pool);

// y = x / sqrt(mean(x²) + eps) * w per row; w optional.
void rms_norm_rows(const float* x, float* y, int64_t rows, int64_t dim, const float* w, float eps,
                   ThreadPool* pool);

}  // namespace mova::cpu
