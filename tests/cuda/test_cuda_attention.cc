// The flash-attention kernel against the CPU op (runtime/ops/attention.h, itself checked against
// a float64 softmax that materialises the scores). F32: max-rel 1e-5; BF16 storage (inputs
// rounded for both sides, output rounded once): max-rel 1e-2 and cosine > 0.9999. Cases cover
// both head dims, partial query and key tiles, a strided q (a view of a fused projection), an
// additive bias per head or shared, a key mask with one batch entirely padded, and a −∞ bias
// over whole key tiles.
#include <cmath>
#include <vector>

#include "attention_problem.h"
#include "cuda/cuda_test_util.h"
#include "runtime/cuda/kernels/attention.h"

namespace mova {
namespace {

using test::AttentionProblem;

AttentionProblem problem(int64_t B, int64_t Lq, int64_t Lk, int64_t H, int64_t D,
                         int64_t bias_heads, bool mask) {
  AttentionProblem p;
  p.B = B, p.Lq = Lq, p.Lk = Lk, p.H = H, p.D = D, p.bias_heads = bias_heads, p.mask = mask;
  return p;
}
const AttentionProblem kCases[] = {
    problem(1, 1, 1, 1, 64, 0, false), problem(2, 37, 45, 3, 64, 3, true),
    problem(1, 100, 77, 2, 128, 0, false), problem(2, 16, 32, 2, 128, 1, true),
    problem(1, 250, 513, 1, 128, 0, true)};

// How q reaches the kernel: the problem's strided view of a fused projection (rows 2 bytes past
// 16-byte alignment, so the tensor-core kernel copies tiles by plain loads), or a contiguous
// copy (aligned: cp.async).
enum class QLayout { kFusedView, kContiguous };

template <typename Elem>
cuda::AttentionArgs device_args(const AttentionProblem& c, const std::vector<Elem>& q,
                                const std::vector<Elem>& k, const std::vector<Elem>& v,
                                test::DeviceScratch& d, QLayout layout = QLayout::kFusedView) {
  cuda::AttentionArgs a;
  if (layout == QLayout::kFusedView) {
    a.q = static_cast<const Elem*>(d.upload(q)) + 1;
    a.q_strides = {c.q_stride(0), c.q_stride(1), c.q_stride(2)};
  } else {
    a.q = d.upload(c.contiguous_q(q));
    a.q_strides = {c.Lq * c.H * c.D, c.H * c.D, c.D};
  }
  a.k = d.upload(k);
  a.v = d.upload(v);
  a.out = d.zeros(c.B * c.Lq * c.H * c.D * sizeof(Elem));
  a.k_strides = a.v_strides = {c.kv_stride(0), c.kv_stride(1), c.kv_stride(2)};
  a.batch = c.B, a.q_len = c.Lq, a.kv_len = c.Lk, a.heads = c.H, a.head_dim = c.D;
  if (c.bias_heads) a.bias = static_cast<const float*>(d.upload(c.bias));
  a.bias_heads = c.bias_heads ? c.bias_heads : 1;
  if (c.mask) a.key_mask = static_cast<const float*>(d.upload(c.key_mask));
  return a;
}

TEST(CudaAttention, F32MatchesCpu) {
  MOVA_REQUIRE_GPU();
  uint32_t seed = 1;
  for (AttentionProblem c : kCases) {
    c.fill(seed += 10);
    test::DeviceScratch d;
    cuda::AttentionArgs a = device_args(c, c.q_fused, c.k, c.v, d);
    cuda::attention(a);
    const auto got = d.download<float>(a.out, c.B * c.Lq * c.H * c.D);
    EXPECT_LE(test::max_rel_error(got, c.cpu()), 1e-5) << c.name();
  }
}

// Both kernels on BF16: the CUDA-core one (F32 arithmetic) and the tensor-core one (P rounded to
// BF16 before P·V) with q unaligned and aligned (its two ways of loading tiles); the same
// bounds, which the P rounding fits (2^-9 relative per weight).
TEST(CudaAttention, Bf16MatchesCpuOnTheSameRoundedInputs) {
  MOVA_REQUIRE_GPU();
  struct Variant {
    cuda::AttentionKernel kernel;
    QLayout layout;
    const char* name;
  };
  const Variant variants[] = {
      {cuda::AttentionKernel::kCudaCores, QLayout::kFusedView, "cuda cores"},
      {cuda::AttentionKernel::kTensorCores, QLayout::kFusedView, "tensor cores, plain loads"},
      {cuda::AttentionKernel::kTensorCores, QLayout::kContiguous, "tensor cores, cp.async"}};
  for (const Variant& variant : variants) {
    uint32_t seed = 500;
    for (AttentionProblem c : kCases) {
      c.fill(seed += 10);
      const auto q = test::round_to_bf16(c.q_fused), k = test::round_to_bf16(c.k),
                 v = test::round_to_bf16(c.v);
      test::DeviceScratch d;
      cuda::AttentionArgs a = device_args(c, q, k, v, d, variant.layout);
      a.dtype = DType::kBF16;
      a.kernel = variant.kernel;
      cuda::attention(a);
      const auto got = test::from_bf16(d.download<uint16_t>(a.out, c.B * c.Lq * c.H * c.D));
      const auto ref = c.cpu();
      EXPECT_LE(test::max_rel_error(got, ref), 1e-2) << c.name() << " " << variant.name;
      EXPECT_GT(test::cosine(got, ref), 0.9999) << c.name() << " " << variant.name;
    }
  }
}

// A −∞ bias over a whole key tile (32 keys in the CUDA-core kernel, 64 in the tensor-core one),
// the first included, weighs those keys 0: the row stays the CPU's finite answer, not NaN.
TEST(CudaAttention, MinusInfinityBiasOverWholeKeyTiles) {
  MOVA_REQUIRE_GPU();
  AttentionProblem c = problem(1, 3, 200, 1, 64, 1, false);
  c.fill(900);
  for (int64_t j = 0; j < 150; ++j) c.bias[j] = -INFINITY;          // query 0: keys 0..149
  for (int64_t j = 64; j < 200; ++j) c.bias[c.Lk + j] = -INFINITY;  // query 1: keys 64..
  const auto ref = c.cpu();
  {
    test::DeviceScratch d;
    cuda::AttentionArgs a = device_args(c, c.q_fused, c.k, c.v, d);
    cuda::attention(a);
    EXPECT_LE(test::max_rel_error(d.download<float>(a.out, c.Lq * c.D), ref), 1e-5) << "F32";
  }
  const auto q = test::round_to_bf16(c.q_fused), k = test::round_to_bf16(c.k),
             v = test::round_to_bf16(c.v);
  for (auto layout : {QLayout::kFusedView, QLayout::kContiguous})
    for (auto kernel : {cuda::AttentionKernel::kCudaCores, cuda::AttentionKernel::kTensorCores}) {
      test::DeviceScratch d;
      cuda::AttentionArgs a = device_args(c, q, k, v, d, layout);
      a.dtype = DType::kBF16;
      a.kernel = kernel;
      cuda::attention(a);
      const auto got = test::from_bf16(d.download<uint16_t>(a.out, c.Lq * c.D));
      const int which = static_cast<int>(kernel), contiguous = layout == QLayout::kContiguous;
      EXPECT_LE(test::max_rel_error(got, ref), 1e-2)
          << "BF16 kernel " << which << " q " << contiguous;
      EXPECT_GT(test::cosine(got, ref), 0.9999) << "BF16 kernel " << which << " q " << contiguous;
    }
}

TEST(CudaAttention, EmptyProblemsReturnLikeTheCpu) {  // returns before any launch: no GPU
  for (int which = 0; which < 3; ++which) {
    cuda::AttentionArgs a;
    a.batch = a.q_len = a.kv_len = a.heads = 1;
    a.head_dim = 64;
    (which == 0 ? a.heads : which == 1 ? a.q_len : a.batch) = 0;
    a.kv_len = 0;  // no keys either: the CPU op returns its empty output
    cuda::attention(a);
  }
}

TEST(CudaAttention, TensorCoresNeedBf16) {  // checked before any launch: no GPU needed
  cuda::AttentionArgs a;
  a.batch = a.q_len = a.kv_len = a.heads = 1;
  a.head_dim = 64;
  a.kernel = cuda::AttentionKernel::kTensorCores;
  test::expect_error([&] { cuda::attention(a); }, {"tensor-core", "F32"});
}

TEST(CudaAttention, RejectsUnsupportedHeadDimByName) {  // checked before any launch: no GPU
  cuda::AttentionArgs a;
  a.batch = a.q_len = a.kv_len = a.heads = 1;
  a.head_dim = 96;
  test::expect_error([&] { cuda::attention(a); }, {"head_dim 96", "64 and 128"});
}

}  // namespace
}  // namespace mova
