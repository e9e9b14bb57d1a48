// The flash-attention kernel against the CPU op (runtime/ops/attention.h, itself checked against
// a float64 softmax that materialises the scores). F32: max-rel 1e-5; BF16 storage (inputs
// rounded for both sides, output rounded once): max-rel 1e-2 and cosine > 0.9999. Cases cover
// both head dims, partial query and key tiles, a strided q (a view of a fused projection), an
// additive bias per head or shared, and a key mask with one batch entirely padded.
#include <vector>

#include "cuda/cuda_test_util.h"
#include "runtime/cuda/kernels/attention.h"
#include "runtime/exec.h"
#include "runtime/ops/attention.h"
#include "test_util.h"

namespace mova {
namespace {

struct Case {
  int64_t B, Lq, Lk, H, D;
  int64_t bias_heads;  // 0: no bias
  bool mask;
};
const Case kCases[] = {{1, 1, 1, 1, 64, 0, false},
                       {2, 37, 45, 3, 64, 3, true},
                       {1, 100, 77, 2, 128, 0, false},
                       {2, 16, 32, 2, 128, 1, true},
                       {1, 250, 513, 1, 128, 0, true}};

constexpr int64_t kPad = 3;  // q is q_fused[..., 1 : 1 + D] of a [B, Lq, H, D + 3] tensor

struct Inputs {
  std::vector<float> q_fused, k, v, bias, mask;
};

Inputs make_inputs(const Case& c, uint32_t seed) {
  Inputs in;
  in.q_fused = test::random_vector(c.B * c.Lq * c.H * (c.D + kPad), seed, -2.0f, 2.0f);
  in.k = test::random_vector(c.B * c.Lk * c.H * c.D, seed + 1, -2.0f, 2.0f);
  in.v = test::random_vector(c.B * c.Lk * c.H * c.D, seed + 2);
  if (c.bias_heads)
    in.bias = test::random_vector(c.bias_heads * c.Lq * c.Lk, seed + 3, -3.0f, 3.0f);
  if (c.mask) {
    in.mask.assign(c.B * c.Lk, 1.0f);
    for (int64_t j = 0; j < c.Lk; j += 3) in.mask[j] = 0.0f;  // batch 0: every third key
    if (c.B > 1)
      for (int64_t j = 0; j < c.Lk; ++j) in.mask[c.Lk + j] = 0.0f;  // batch 1: all padded
  }
  return in;
}

std::vector<float> cpu_attention(const Case& c, const Inputs& in) {
  Exec ex(2);
  const Tensor q = Tensor::from_vector({c.B, c.Lq, c.H, c.D + kPad}, in.q_fused).narrow(3, 1, c.D);
  const Tensor k = Tensor::from_vector({c.B, c.Lk, c.H, c.D}, in.k);
  const Tensor v = Tensor::from_vector({c.B, c.Lk, c.H, c.D}, in.v);
  const Tensor bias =
      c.bias_heads ? Tensor::from_vector({c.bias_heads, c.Lq, c.Lk}, in.bias) : Tensor();
  const Tensor mask = c.mask ? Tensor::from_vector({c.B, c.Lk}, in.mask) : Tensor();
  AttentionOptions o;
  o.bias = c.bias_heads ? &bias : nullptr;
  o.key_mask = c.mask ? &mask : nullptr;
  return attention(ex, q, k, v, o).to_vector();
}

template <typename Elem>
cuda::AttentionArgs device_args(const Case& c, const Inputs& in, const std::vector<Elem>& q,
                                const std::vector<Elem>& k, const std::vector<Elem>& v,
                                test::DeviceScratch& d) {
  cuda::AttentionArgs a;
  a.q = static_cast<const Elem*>(d.upload(q)) + 1;
  a.k = d.upload(k);
  a.v = d.upload(v);
  a.out = d.zeros(c.B * c.Lq * c.H * c.D * sizeof(Elem));
  a.q_strides = {c.Lq * c.H * (c.D + kPad), c.H * (c.D + kPad), c.D + kPad};
  a.k_strides = a.v_strides = {c.Lk * c.H * c.D, c.H * c.D, c.D};
  a.batch = c.B, a.q_len = c.Lq, a.kv_len = c.Lk, a.heads = c.H, a.head_dim = c.D;
  if (c.bias_heads) a.bias = static_cast<const float*>(d.upload(in.bias));
  a.bias_heads = c.bias_heads ? c.bias_heads : 1;
  if (c.mask) a.key_mask = static_cast<const float*>(d.upload(in.mask));
  return a;
}

std::string name(const Case& c) {
  return "B" + std::to_string(c.B) + " Lq" + std::to_string(c.Lq) + " Lk" + std::to_string(c.Lk) +
         " H" + std::to_string(c.H) + " D" + std::to_string(c.D);
}

TEST(CudaAttention, F32MatchesCpu) {
  MOVA_REQUIRE_GPU();
  uint32_t seed = 1;
  for (const Case& c : kCases) {
    const Inputs in = make_inputs(c, seed += 10);
    test::DeviceScratch d;
    cuda::AttentionArgs a = device_args(c, in, in.q_fused, in.k, in.v, d);
    cuda::attention(a);
    const auto got = d.download<float>(a.out, c.B * c.Lq * c.H * c.D);
    EXPECT_LE(test::max_rel_error(got, cpu_attention(c, in)), 1e-5) << name(c);
  }
}

// Both kernels on BF16: the CUDA-core one (F32 arithmetic) and the tensor-core one (P rounded to
// BF16 before P·V); the same bounds, which the P rounding fits (2^-9 relative per weight).
TEST(CudaAttention, Bf16MatchesCpuOnTheSameRoundedInputs) {
  MOVA_REQUIRE_GPU();
  for (auto kernel : {cuda::AttentionKernel::kCudaCores, cuda::AttentionKernel::kTensorCores}) {
    const char* kname = kernel == cuda::AttentionKernel::kCudaCores ? "cuda cores" : "tensor cores";
    uint32_t seed = 500;
    for (const Case& c : kCases) {
      Inputs in = make_inputs(c, seed += 10);
      const auto q = test::round_to_bf16(in.q_fused), k = test::round_to_bf16(in.k),
                 v = test::round_to_bf16(in.v);
      test::DeviceScratch d;
      cuda::AttentionArgs a = device_args(c, in, q, k, v, d);
      a.dtype = DType::kBF16;
      a.kernel = kernel;
      cuda::attention(a);
      const auto got = test::from_bf16(d.download<uint16_t>(a.out, c.B * c.Lq * c.H * c.D));
      const auto ref = cpu_attention(c, in);
      EXPECT_LE(test::max_rel_error(got, ref), 1e-2) << name(c) << " " << kname;
      EXPECT_GT(test::cosine(got, ref), 0.9999) << name(c) << " " << kname;
    }
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
