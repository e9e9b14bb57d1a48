// The CUDA backend behind runtime/ops/: each op the DiT uses, called through the Tensor API on
// cuda:0, against the same op on the CPU; then a whole video expert and the audio DiT of the
// tiny checkpoint with their weights placed on the GPU (what `mova eval dit-forward --device
// cuda` runs).
//
// Bounds: the F32 path (the default, strict F32 GEMMs, no TF32) max-rel ≤ 1e-5 per op and
// ≤ 1e-4 for a whole DiT (the CPU reference tests' fp32 budget); the BF16 path per op max-rel
// ≤ 2e-2 and cosine > 0.9999 (the kernels' budget in docs/cuda.md).
#include <gtest/gtest.h>

#include "cuda/cuda_test_util.h"
#include "models/checkpoint.h"
#include "models/tiny_checkpoint.h"
#include "models/wan_dit.h"
#include "runtime/cuda/cuda_backend.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/linear.h"
#include "runtime/ops/norm.h"
#include "runtime/ops/rope.h"
#include "test_util.h"

namespace mova {
namespace {

const Device kGpu = Device::cuda(0);

Tensor random(const Shape& shape, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  return Tensor::from_vector(shape, test::random_vector(shape_numel(shape), seed, lo, hi));
}

Tensor host(const Tensor& t) {
  EXPECT_EQ(t.device(), kGpu) << t.describe();
  return t.to(Device::cpu());
}

void expect_close_f32(const Tensor& gpu, const Tensor& cpu, double bound, const char* what) {
  const Tensor g = host(gpu);
  ASSERT_EQ(g.shape(), cpu.shape()) << what;
  const double err = test::max_rel_error(g, cpu);
  EXPECT_LE(err, bound) << what;
  std::printf("[ measure  ] %s: max rel error %.3g\n", what, err);
}

class CudaBackendOps : public ::testing::Test {
 protected:
  void SetUp() override {
    MOVA_REQUIRE_GPU();
    backend_ = cuda::open_backend(0, Precision::kF32);
  }
  Exec ex_{2};
  std::unique_ptr<Backend> backend_;
};

TEST_F(CudaBackendOps, CopiesTransfersAndConversions) {
  const Tensor x = random({3, 5, 7}, 1);
  const Tensor d = x.to(kGpu);
  EXPECT_EQ(host(d).to_vector(), x.to_vector());
  EXPECT_EQ(host(d.permute({2, 0, 1}).contiguous()).to_vector(),
            x.permute({2, 0, 1}).contiguous().to_vector());
  EXPECT_EQ(host(d.narrow(1, 1, 3).contiguous()).to_vector(),
            x.narrow(1, 1, 3).contiguous().to_vector());
  // BF16 and F16 round to nearest even on both sides: bit-identical.
  EXPECT_EQ(host(d.to(DType::kBF16)).to_vector(), x.to(DType::kBF16).to_vector());
  EXPECT_EQ(host(d.to(DType::kF16)).to_vector(), x.to(DType::kF16).to_vector());
  EXPECT_EQ(host(x.to(DType::kBF16).to(kGpu).to(DType::kF32)).to_vector(),
            x.to(DType::kBF16).to(DType::kF32).to_vector());
}

TEST_F(CudaBackendOps, ElementwiseMatchTheCpu) {
  const Tensor a = random({2, 3, 64}, 2), b = random({1, 3, 1}, 3, 0.5f, 2.0f);
  const Tensor da = a.to(kGpu), db = b.to(kGpu);
  for (BinaryOp op : {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv})
    expect_close_f32(binary(ex_, op, da, db), binary(ex_, op, a, b), 0.0, "binary broadcast");
  expect_close_f32(binary(ex_, BinaryOp::kMul, da.permute({0, 2, 1}), db.permute({0, 2, 1})),
                   binary(ex_, BinaryOp::kMul, a.permute({0, 2, 1}), b.permute({0, 2, 1})), 0.0,
                   "binary strided");
  expect_close_f32(affine(ex_, da.narrow(2, 5, 17), 1.5f, -0.25f),
                   affine(ex_, a.narrow(2, 5, 17), 1.5f, -0.25f), 0.0, "affine");
  expect_close_f32(silu(ex_, da), silu(ex_, a), 1e-6, "silu");
  expect_close_f32(gelu(ex_, da, true), gelu(ex_, a, true), 1e-6, "gelu tanh");
  expect_close_f32(gelu(ex_, da, false), gelu(ex_, a, false), 1e-6, "gelu erf");
}

TEST_F(CudaBackendOps, LinearNormsRopeAttentionMatchTheCpu) {
  const Tensor x = random({1, 37, 96}, 4);
  const Tensor w = random({80, 96}, 5, -0.2f, 0.2f).to(DType::kBF16);
  const Tensor bias = random({80}, 6).to(DType::kBF16);
  const Tensor dx = x.to(kGpu), dw = w.to(kGpu), dbias = bias.to(kGpu);
  expect_close_f32(linear(ex_, dx, dw, &dbias), linear(ex_, x, w, &bias), 1e-5, "linear bf16 w");
  expect_close_f32(matmul(ex_, dx.select(0, 0), dw, true), matmul(ex_, x.select(0, 0), w, true),
                   1e-5, "matmul");
  const Tensor g = random({96}, 7).to(DType::kBF16), dg = g.to(kGpu);
  expect_close_f32(layer_norm(ex_, dx, &dg, &dg, 1e-6f), layer_norm(ex_, x, &g, &g, 1e-6f), 1e-5,
                   "layer_norm");
  expect_close_f32(layer_norm(ex_, dx, nullptr, nullptr, 1e-6f),
                   layer_norm(ex_, x, nullptr, nullptr, 1e-6f), 1e-5, "layer_norm plain");
  expect_close_f32(rms_norm(ex_, dx, &dg, 1e-6f), rms_norm(ex_, x, &g, 1e-6f), 1e-5, "rms_norm");

  const Tensor q = random({1, 37, 2, 128}, 8), k = random({1, 21, 2, 128}, 9),
               v = random({1, 21, 2, 128}, 10);
  RopeAngles angles{37, 64, Tensor::empty({37, 64}, DType::kF64)};
  for (int64_t p = 0; p < 37; ++p)
    for (int64_t j = 0; j < 64; ++j)
      angles.angle.data<double>()[p * 64 + j] = p * std::pow(10000.0, -j / 64.0);
  RopeAngles on_gpu = angles;
  on_gpu.angle = angles.angle.to(kGpu);
  expect_close_f32(rope_interleaved(ex_, q.to(kGpu), on_gpu), rope_interleaved(ex_, q, angles),
                   1e-6, "rope interleaved");
  const Tensor cos = random({37, 128}, 11), sin = random({37, 128}, 12);
  expect_close_f32(rope_rotate_half(ex_, q.to(kGpu), cos.to(kGpu), sin.to(kGpu)),
                   rope_rotate_half(ex_, q, cos, sin), 1e-6, "rope rotate half");
  const Tensor mask = Tensor::from_vector({1, 21}, std::vector<float>(21, 1.0f));
  AttentionOptions o;
  const Tensor dmask = mask.to(kGpu);
  expect_close_f32(attention(ex_, q.to(kGpu), k.to(kGpu), v.to(kGpu), o),
                   attention(ex_, q, k, v, o), 1e-5, "attention");
  o.key_mask = &dmask;
  AttentionOptions ho;
  ho.key_mask = &mask;
  expect_close_f32(attention(ex_, q.to(kGpu), k.to(kGpu), v.to(kGpu), o),
                   attention(ex_, q, k, v, ho), 1e-5, "attention key mask");
}

TEST(CudaBackend, Bf16PathStaysInItsBudget) {
  MOVA_REQUIRE_GPU();
  const auto backend = cuda::open_backend(0, Precision::kBF16);
  Exec ex(2);
  const Tensor x = random({1, 200, 256}, 13);
  const Tensor w = random({384, 256}, 14, -0.1f, 0.1f).to(DType::kBF16);
  const Tensor q = random({1, 200, 2, 128}, 15), k = random({1, 150, 2, 128}, 16),
               v = random({1, 150, 2, 128}, 17);
  const auto check = [](const Tensor& gpu, const Tensor& cpu, const char* what) {
    const std::vector<float> g = host(gpu).to_vector(), c = cpu.to_vector();
    const double err = test::max_rel_error(g, c), cos = test::cosine(g, c);
    EXPECT_LE(err, 2e-2) << what;
    EXPECT_GT(cos, 0.9999) << what;
    std::printf("[ measure  ] %s bf16: max rel error %.3g, cosine %.7f\n", what, err, cos);
  };
  check(linear(ex, x.to(kGpu), w.to(kGpu)), linear(ex, x, w), "linear");
  check(attention(ex, q.to(kGpu), k.to(kGpu), v.to(kGpu)), attention(ex, q, k, v), "attention");
}

// What `mova eval dit-forward --device cuda` runs: a whole tower with its weights on the GPU.
TEST(CudaBackend, TinyDitTowersMatchTheCpu) {
  MOVA_REQUIRE_GPU();
  test::TempDir dir;
  write_tiny_checkpoint(dir.file("m"), {});
  const Checkpoint ckpt = Checkpoint::open(dir.file("m"));
  const auto backend = cuda::open_backend(0, Precision::kF32);
  Exec ex(2);
  const Tensor ctx = random({1, 9, 48}, 18);
  struct Case {
    Component c;
    Shape x;
  };
  for (const Case& tc :
       {Case{Component::kVideoDit, {1, 36, 3, 4, 6}}, Case{Component::kVideoDit2, {1, 36, 2, 6, 4}},
        Case{Component::kAudioDit, {1, 8, 13}}}) {
    const WanDitConfig cfg =
        tc.c == Component::kAudioDit ? ckpt.audio_dit_config() : ckpt.video_dit_config(tc.c);
    const Tensor x = random(tc.x, 19, -2.0f, 2.0f);
    const Tensor expected = WanDit(cfg, ckpt.weights(tc.c)).forward(ex, x, 640.0f, ctx);
    WeightSet placed = ckpt.weights(tc.c);
    placed.place_on(kGpu);
    const Tensor got = WanDit(cfg, placed).forward(ex, x, 640.0f, ctx);
    expect_close_f32(got, expected, 1e-4, component_desc(tc.c).folder);
  }
}

}  // namespace
}  // namespace mova
