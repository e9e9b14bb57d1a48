#include "runtime/cuda/kernels/score_softmax.h"

#include <cfloat>
#include <cmath>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/kernels/element_io.cuh"

namespace mova::cuda {
namespace {

constexpr int kThreads = 256;

// The attention logit of one entry, as the fused kernels form it.
__device__ __forceinline__ float logit(const ScoreSoftmaxArgs& a, int64_t row, int64_t j) {
  float s = a.scores[row * a.cols + j] * a.scale;
  if (a.bias) s += a.bias[row * a.cols + j];
  if (a.key_mask && a.key_mask[j] == 0.0f) s += -FLT_MAX;
  return s;
}

// Each thread reads then writes only its own entries, so probs may alias scores.
template <typename T>
__global__ void __launch_bounds__(kThreads) score_softmax_kernel(ScoreSoftmaxArgs a) {
  __shared__ float scratch[kThreads / 32];
  const int64_t row = blockIdx.x;
  float m = -INFINITY;
  for (int64_t j = threadIdx.x; j < a.cols; j += kThreads) m = fmaxf(m, logit(a, row, j));
  m = block_max(m, scratch);
  float sum = 0.0f;
  for (int64_t j = threadIdx.x; j < a.cols; j += kThreads) sum += expf(logit(a, row, j) - m);
  const float inv = 1.0f / block_sum(sum, scratch);
  T* p = static_cast<T*>(a.probs) + row * a.cols;
  for (int64_t j = threadIdx.x; j < a.cols; j += kThreads)
    store(p + j, expf(logit(a, row, j) - m) * inv);
}

}  // namespace

void score_softmax(const ScoreSoftmaxArgs& a, cudaStream_t stream) {
  MOVA_CHECK(a.rows >= 0 && a.rows <= 0x7fffffff && a.cols > 0, ErrorKind::kShape,
             "CUDA attention softmax: ", a.rows, " rows of ", a.cols,
             " (at most 2^31-1 rows of at least one key)");
  MOVA_CHECK(a.probs_dtype == DType::kF32 || a.probs != a.scores, ErrorKind::kInternal,
             "CUDA attention softmax: BF16 probabilities cannot overwrite F32 scores");
  if (a.rows == 0) return;
  dispatch_storage(a.probs_dtype, "attention softmax", [&](auto tag) {
    score_softmax_kernel<decltype(tag)><<<static_cast<unsigned>(a.rows), kThreads, 0, stream>>>(a);
  });
  MOVA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace mova::cuda
