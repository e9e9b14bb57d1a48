// The CUDA backend behind runtime/ops/: each op the DiT uses, called through the Tensor API on
// cuda:0, against the same op on the CPU; then a whole video expert and the audio DiT of the
// tiny checkpoint with their weights placed on the GPU (what `mova eval dit-forward --device
// cuda` runs).
//
// Bounds: the F32 path (the default, strict F32 GEMMs, no TF32) max-rel ≤ 1e-5 per op and
// ≤ 1e-4 for a whole DiT (the CPU reference tests' fp32 budget); the BF16 path per op max-rel
// ≤ 2e-2 and cosine > 0.9999 (the kernels' budget in docs/cuda.md).
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "cuda/cuda_test_util.h"
#include "models/checkpoint.h"
#include "models/dac.h"
#include "models/tiny_checkpoint.h"
#include "models/umt5_encoder.h"
#include "models/wan_dit.h"
#include "models/wan_vae.h"
#include "pipeline/joint_denoiser.h"
#include "pipeline/sampler.h"
#include "runtime/cuda/cuda_backend.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/concat.h"
#include "runtime/ops/conv.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/gather.h"
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

// The tiny checkpoint the model tests here run, written for each test.
struct TinyModel {
  test::TempDir dir;
  Checkpoint ckpt = (write_tiny_checkpoint(dir.file("m"), {}), Checkpoint::open(dir.file("m")));
};

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
  // A strided view in (made contiguous first), and the input left as it was (the output is a
  // new buffer).
  expect_close_f32(gelu(ex_, da.permute({0, 2, 1}), true), gelu(ex_, a.permute({0, 2, 1}), true),
                   1e-6, "gelu tanh strided");
  EXPECT_EQ(host(da).to_vector(), a.to_vector());
}

// The text encoder's embedding and position-bias lookups: exact copies of the widened rows; an
// index the host never checked comes out as a NaN row rather than a read outside the table.
TEST_F(CudaBackendOps, GatherRowsMatchesTheCpu) {
  const Tensor table = random({300, 70}, 42);
  const std::vector<int64_t> picks = {299, 0, 7, 7, 150, 1, 298, 64, 65};
  Tensor index = Tensor::empty({static_cast<int64_t>(picks.size())}, DType::kI64);
  std::copy(picks.begin(), picks.end(), index.data<int64_t>());
  for (const DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
    expect_close_f32(gather_rows(ex_, table.to(dtype).to(kGpu), index.to(kGpu)),
                     gather_rows(ex_, table.to(dtype), index), 0.0, dtype_name(dtype));
    expect_close_f32(gather_rows_transposed(ex_, table.to(dtype).to(kGpu), index.to(kGpu)),
                     gather_rows_transposed(ex_, table.to(dtype), index), 0.0, "transposed");
  }
  index.data<int64_t>()[2] = 300;
  const auto got = host(gather_rows(ex_, table.to(kGpu), index.to(kGpu))).to_vector();
  const auto cols = host(gather_rows_transposed(ex_, table.to(kGpu), index.to(kGpu))).to_vector();
  const int64_t M = static_cast<int64_t>(picks.size());
  for (int64_t c = 0; c < 70; ++c) {
    EXPECT_TRUE(std::isnan(got[2 * 70 + c])) << "column " << c;
    EXPECT_TRUE(std::isnan(cols[c * M + 2])) << "row " << c;
    EXPECT_EQ(got[3 * 70 + c], table.to_vector()[7 * 70 + c]) << "column " << c;
    EXPECT_EQ(cols[c * M + 3], table.to_vector()[7 * 70 + c]) << "row " << c;
  }
}

// cuBLASLt rejects k = 0; the backend must still return the bias (or zeros) like the CPU.
TEST_F(CudaBackendOps, EmptyInnerDimensionGivesTheBias) {
  const Tensor x = Tensor::zeros({5, 0}, DType::kF32), w = Tensor::zeros({3, 0}, DType::kBF16);
  const Tensor bias = random({3}, 41);
  const Tensor dbias = bias.to(kGpu);
  expect_close_f32(linear(ex_, x.to(kGpu), w.to(kGpu), &dbias), linear(ex_, x, w, &bias), 0.0,
                   "linear k=0");
  expect_close_f32(matmul(ex_, x.to(kGpu), w.to(kGpu), true), matmul(ex_, x, w, true), 0.0,
                   "matmul k=0");
}

TEST_F(CudaBackendOps, LinearNormsRopeAttentionMatchTheCpu) {
  const Tensor x = random({1, 37, 96}, 4);
  const Tensor w = random({80, 96}, 5, -0.2f, 0.2f).to(DType::kBF16);
  const Tensor bias = random({80}, 6).to(DType::kBF16);
  const Tensor dx = x.to(kGpu), dw = w.to(kGpu), dbias = bias.to(kGpu);
  expect_close_f32(linear(ex_, dx, dw, &dbias), linear(ex_, x, w, &bias), 1e-5, "linear bf16 w");
  // The F32 path hands every activation on in F32, operands too (runtime/ops/handoff.h).
  expect_close_f32(linear(ex_, dx, dw, &dbias, LinearResult::kOperand), linear(ex_, x, w, &bias),
                   1e-5, "linear operand on the F32 path");
  expect_close_f32(matmul(ex_, dx.select(0, 0), dw, true), matmul(ex_, x.select(0, 0), w, true),
                   1e-5, "matmul");
  const Tensor g = random({96}, 7).to(DType::kBF16), dg = g.to(kGpu);
  expect_close_f32(layer_norm(ex_, dx, &dg, &dg, 1e-6f), layer_norm(ex_, x, &g, &g, 1e-6f), 1e-5,
                   "layer_norm");
  expect_close_f32(layer_norm(ex_, dx, nullptr, nullptr, 1e-6f),
                   layer_norm(ex_, x, nullptr, nullptr, 1e-6f), 1e-5, "layer_norm plain");
  expect_close_f32(rms_norm(ex_, dx, &dg, 1e-6f), rms_norm(ex_, x, &g, 1e-6f), 1e-5, "rms_norm");
  const Tensor shift = random({1, 1, 96}, 38), scale = random({1, 1, 96}, 39);
  expect_close_f32(layer_norm_modulate(ex_, dx, shift.to(kGpu), scale.to(kGpu), 1e-6f),
                   layer_norm_modulate(ex_, x, shift, scale, 1e-6f), 1e-5, "layer_norm_modulate");
  const Tensor y = random({1, 37, 96}, 40);
  expect_close_f32(gated_residual(ex_, dx, scale.to(kGpu), y.to(kGpu)),
                   gated_residual(ex_, x, scale, y), 1e-6, "gated_residual");
  expect_close_f32(
      gated_residual(ex_, dx.narrow(1, 3, 20), scale.to(kGpu), y.to(kGpu).narrow(1, 1, 20)),
      gated_residual(ex_, x.narrow(1, 3, 20), scale, y.narrow(1, 1, 20)), 1e-6,
      "gated_residual of views");
  EXPECT_EQ(host(dx).to_vector(), x.to_vector());

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

// Head sizes the fused kernels do not take go through GEMMs and a row softmax: the tiny
// presets' 12 and 32 and the published video VAE's single 384-wide head, with a per-head bias,
// a key mask with one batch entry fully padded, a scale, and a strided q (a view of a fused
// projection, so the per-head GEMM operands are not 256-byte aligned).
TEST_F(CudaBackendOps, AttentionOfOtherHeadSizesMatchesTheCpu) {
  for (const int64_t D : {12, 32, 384}) {
    const int64_t B = 2, Lq = 45, Lk = 37, H = D == 384 ? 1 : 3;
    const Tensor q_fused = random({B, Lq, H, D + 3}, 50, -2.0f, 2.0f);
    const Tensor q = q_fused.narrow(3, 1, D);
    const Tensor k = random({B, Lk, H, D}, 51, -2.0f, 2.0f), v = random({B, Lk, H, D}, 52);
    const Tensor bias = random({H, Lq, Lk}, 53, -3.0f, 3.0f);
    std::vector<float> m(B * Lk, 1.0f);
    for (int64_t j = 0; j < Lk; j += 3) m[j] = 0.0f;    // batch 0: every third key padded
    for (int64_t j = 0; j < Lk; ++j) m[Lk + j] = 0.0f;  // batch 1: every key padded
    const Tensor mask = Tensor::from_vector({B, Lk}, m);
    const Tensor dbias = bias.to(kGpu), dmask = mask.to(kGpu);
    const Tensor dq = q_fused.to(kGpu).narrow(3, 1, D), dk = k.to(kGpu), dv = v.to(kGpu);
    const std::string what = "attention D" + std::to_string(D);
    expect_close_f32(attention(ex_, dq, dk, dv), attention(ex_, q, k, v), 1e-5, what.c_str());
    AttentionOptions ho, o;
    ho.bias = &bias, ho.key_mask = &mask, ho.scale = 0.3f;
    o.bias = &dbias, o.key_mask = &dmask, o.scale = 0.3f;
    // At D = 384 the scores are 384-term dot products of U(-2, 2) values (std ≈ 26 before the
    // scale) and the softmax is sharp, so summation order shows: an exact (double) GEMM gives
    // 7.8e-6, a k-ordered F32 FMA chain as a GPU SGEMM thread sums 1.4e-5 (CUDA emulator).
    // The F32 budget, 1e-4, applies there.
    expect_close_f32(attention(ex_, dq, dk, dv, o), attention(ex_, q, k, v, ho),
                     D == 384 ? 1e-4 : 1e-5, (what + " bias, mask, scale").c_str());
  }
}

// The VAEs' ops: convolutions lowered to im2col / column gathers + cuBLASLt (strided,
// padded, dilated, several lowering chunks), the channel norm, Snake and concatenation.
TEST_F(CudaBackendOps, ConvolutionsAndVaeOpsMatchTheCpu) {
  const Tensor x3 = random({6, 5, 9, 11}, 20);
  const Tensor w3 = random({7, 6, 3, 3, 3}, 21, -0.3f, 0.3f).to(DType::kBF16);
  const Tensor b3 = random({7}, 22);
  const Tensor dx3 = x3.to(kGpu), dw3 = w3.to(kGpu), db3 = b3.to(kGpu);
  Conv3dParams causal;
  causal.pad_t_front = 2;
  causal.pad_top = causal.pad_bottom = causal.pad_left = causal.pad_right = 1;
  expect_close_f32(conv3d(ex_, dx3, dw3, &db3, causal), conv3d(ex_, x3, w3, &b3, causal), 1e-5,
                   "conv3d causal");
  Conv3dParams down;
  down.stride_h = down.stride_w = 2;
  down.pad_bottom = down.pad_right = 1;
  const Tensor w2 = random({7, 6, 3, 3}, 23, -0.3f, 0.3f);
  expect_close_f32(conv3d(ex_, dx3, w2.to(kGpu), nullptr, down), conv3d(ex_, x3, w2, nullptr, down),
                   1e-5, "conv3d 2-D stride 2");
  Conv3dParams time;
  time.stride_t = 2;
  const Tensor wt = random({6, 6, 3, 1, 1}, 24, -0.3f, 0.3f);
  const Tensor b6 = b3.narrow(0, 0, 6), db6 = b6.to(kGpu);
  expect_close_f32(conv3d(ex_, dx3, wt.to(kGpu), &db6, time), conv3d(ex_, x3, wt, &b6, time), 1e-5,
                   "conv3d time stride");

  const Tensor x1 = random({5, 5000}, 25);
  const Tensor w1 = random({4, 5, 7}, 26, -0.3f, 0.3f), b1 = random({4}, 27);
  const Tensor dx1 = x1.to(kGpu), dw1 = w1.to(kGpu), db1 = b1.to(kGpu);
  Conv1dParams dil;
  dil.padding = 9;
  dil.dilation = 3;
  expect_close_f32(conv1d(ex_, dx1, dw1, &db1, dil), conv1d(ex_, x1, w1, &b1, dil), 1e-5,
                   "conv1d dilated");
  Conv1dParams strided;
  strided.stride = 4;
  strided.padding = 2;
  expect_close_f32(conv1d(ex_, dx1, dw1, &db1, strided), conv1d(ex_, x1, w1, &b1, strided), 1e-5,
                   "conv1d stride 4");
  const Tensor wtr = random({5, 3, 8}, 28, -0.3f, 0.3f), btr = random({3}, 29);
  Conv1dParams up;
  up.stride = 5;
  up.padding = 3;
  up.output_padding = 1;
  const Tensor dbtr = btr.to(kGpu);
  expect_close_f32(conv_transpose1d(ex_, dx1, wtr.to(kGpu), &dbtr, up),
                   conv_transpose1d(ex_, x1, wtr, &btr, up), 1e-5, "conv_transpose1d");

  // Inputs long enough that the lowering's columns exceed its 256 MiB budget: several chunks,
  // each GEMM writing (or each gather reading) at an offset.
  const Tensor xl = random({64, 160000}, 34), wl = random({4, 64, 7}, 35, -0.1f, 0.1f);
  Conv1dParams same;
  same.padding = 3;
  expect_close_f32(conv1d(ex_, xl.to(kGpu), wl.to(kGpu), &db1, same),
                   conv1d(ex_, xl, wl, &b1, same), 1e-5, "conv1d in chunks");
  const Tensor xt = random({4, 600000}, 36), wtl = random({4, 16, 8}, 37, -0.3f, 0.3f);
  Conv1dParams up4;
  up4.stride = 4;
  up4.padding = 2;
  expect_close_f32(conv_transpose1d(ex_, xt.to(kGpu), wtl.to(kGpu), nullptr, up4),
                   conv_transpose1d(ex_, xt, wtl, nullptr, up4), 1e-5,
                   "conv_transpose1d in chunks");

  const Tensor gamma = random({6}, 30, 0.5f, 1.5f).to(DType::kBF16);
  for (bool then_silu : {false, true})
    expect_close_f32(channel_rms_norm(ex_, dx3, gamma.to(kGpu), then_silu),
                     channel_rms_norm(ex_, x3, gamma, then_silu), 1e-5, "channel_rms_norm");
  const Tensor alpha = random({5}, 31, 0.2f, 2.0f);
  expect_close_f32(snake(ex_, dx1, alpha.to(kGpu)), snake(ex_, x1, alpha), 1e-5, "snake");
  expect_close_f32(concat({dx3, dx3.narrow(1, 0, 2)}, 1), concat({x3, x3.narrow(1, 0, 2)}, 1), 0.0,
                   "concat");
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
  // The LayerNorms hand BF16 to the GEMMs after them: the F32 result rounded once (within one
  // BF16 step of the CPU's, whose F32 value may differ in the last bits), and a GEMM reading it
  // gives what it gives reading the F32 result.
  const Tensor shift = random({1, 1, 256}, 21), scale = random({1, 1, 256}, 22);
  const Tensor ln = layer_norm_modulate(ex, x.to(kGpu), shift.to(kGpu), scale.to(kGpu), 1e-6f);
  EXPECT_TRUE(ln.dtype() == DType::kBF16) << dtype_name(ln.dtype());
  const Tensor ln_cpu = layer_norm_modulate(ex, x, shift, scale, 1e-6f);
  EXPECT_LE(test::max_rel_error(host(ln).to(DType::kF32), ln_cpu.to(DType::kBF16).to(DType::kF32)),
            8e-3);
  check(linear(ex, ln, w.to(kGpu)), linear(ex, ln_cpu, w), "layer_norm_modulate then linear");
  const Tensor gain = random({256}, 23);
  const Tensor gain_gpu = gain.to(kGpu), x_gpu = x.to(kGpu);
  const Tensor plain = layer_norm(ex, x_gpu, &gain_gpu, nullptr, 1e-6f);
  EXPECT_TRUE(plain.dtype() == DType::kBF16) << dtype_name(plain.dtype());
  const Tensor plain_cpu = layer_norm(ex, x, &gain, nullptr, 1e-6f);
  check(plain, plain_cpu, "layer_norm with a gain");
  check(attention(ex, q.to(kGpu), k.to(kGpu), v.to(kGpu)), attention(ex, q, k, v), "attention");
  // Head size 384 (the video VAE's) through the GEMM composition, P rounded to BF16.
  const Tensor q3 = random({2, 300, 1, 384}, 18), k3 = random({2, 300, 1, 384}, 19),
               v3 = random({2, 300, 1, 384}, 20);
  check(attention(ex, q3.to(kGpu), k3.to(kGpu), v3.to(kGpu)), attention(ex, q3, k3, v3),
        "attention D384");
}

// The BF16 path over chunks of tokens: the keys and values gathered in BF16 from each chunk, the
// F32 residual streams updated in place. A chunk's GEMM may take another cuBLASLt algorithm for
// its row count, so on a GPU the last bits may differ from whole passes, and a BF16 hand-off
// rounded the other way carries that on: the BF16 path's own budget against F32 (this file's
// Bf16PathStaysInItsBudget) bounds it. The emulator's GEMMs give the same bits for any row
// count, so there the two must be equal.
TEST(CudaBackend, Bf16JointStepInChunksMatchesWholePasses) {
  MOVA_REQUIRE_GPU();
  const TinyModel tiny;
  const Checkpoint& ckpt = tiny.ckpt;
  const auto backend = cuda::open_backend(0, Precision::kBF16);
  Exec ex(2);
  const JointDenoiser whole(ckpt, kGpu);
  JointDenoiser chunked(ckpt, kGpu);
  chunked.set_chunk_tokens(3);
  const Tensor video = random({1, 16, 2, 4, 4}, 51, -2.0f, 2.0f);
  const Tensor cond = random({1, 20, 2, 4, 4}, 52), audio = random({1, 8, 9}, 53, -2.0f, 2.0f);
  const Tensor ctx = random({1, 5, 48}, 54);
  for (int expert : {1, 2}) {
    const Velocities want = whole.step(ex, expert, video, cond, audio, ctx, 700.0f, 650.0f, 24.0);
    const Velocities got = chunked.step(ex, expert, video, cond, audio, ctx, 700.0f, 650.0f, 24.0);
    for (const auto& [g, w, what] : {std::tuple{&got.video, &want.video, "video"},
                                     std::tuple{&got.audio, &want.audio, "audio"}}) {
      const std::vector<float> gv = g->to_vector(), wv = w->to_vector();
      const double err = test::max_rel_error(gv, wv), cos = test::cosine(gv, wv);
      EXPECT_LE(err, 2e-2) << what << ", expert " << expert;
      EXPECT_GT(cos, 0.9999) << what << ", expert " << expert;
#ifdef MOVA_CUDA_EMULATOR
      EXPECT_EQ(gv, wv) << what << ", expert " << expert;
#endif
      std::printf(
          "[ measure  ] bf16 %s velocity in chunks of 3, expert %d: max rel %.3g, "
          "cosine %.7f against whole passes\n",
          what, expert, err, cos);
    }
  }
}

// `got` (BF16) is `ref` (F32) rounded once: within one BF16 step of each value (the two F32
// computations may differ in their last bits, so a value near a rounding midpoint may round
// either way). On a GPU the two GEMMs behind a linear's BF16 and F32 results may get different
// algorithms (tiles, split-K) and so sum in different orders: their F32 sums then differ by a
// few F32 ulps of the largest terms, more than a BF16 step of a value near zero. Steps are
// floored at 2^-16 of the largest |value| for that (a BF16 step is 2^-8 of a value).
void expect_rounded_once(const Tensor& got, const Tensor& ref, const char* what) {
  ASSERT_TRUE(got.dtype() == DType::kBF16) << what << ": " << got.describe();
  ASSERT_TRUE(ref.dtype() == DType::kF32) << what << ": " << ref.describe();
  ASSERT_EQ(got.shape(), ref.shape()) << what;
  const std::vector<float> g = host(got).to_vector(), r = host(ref).to_vector();
  double largest = 0;
  for (const float v : r) largest = std::max(largest, std::fabs(static_cast<double>(v)));
  const double floor = std::ldexp(largest, -16);
  int64_t worse = 0;
  double worst_steps = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    const double step = std::max(floor, r[i] == 0.0f ? 0.0 : std::ldexp(1.0, std::ilogb(r[i]) - 7));
    const double diff = std::fabs(static_cast<double>(g[i]) - r[i]);
    if (diff > step) ++worse;
    if (step > 0) worst_steps = std::max(worst_steps, diff / step);
  }
  EXPECT_EQ(worse, 0) << what << ": values further than one BF16 step from the F32 result";
  std::printf("[ measure  ] %s: within %.3g BF16 steps of the F32 result\n", what, worst_steps);
}

// The BF16 path's hand-offs (runtime/ops/handoff.h): a linear asked for an operand is written in
// BF16 by its GEMM (the bias added before the rounding); RMS norm, both RoPEs and the
// activations keep a BF16 input's dtype; each is its F32 counterpart on the same values rounded
// once; attention reading BF16 q, k, v gives exactly what it gives reading them widened.
TEST(CudaBackend, Bf16HandoffsRoundOnce) {
  MOVA_REQUIRE_GPU();
  const auto backend = cuda::open_backend(0, Precision::kBF16);
  Exec ex(2);
  const Tensor x = random({1, 40, 256}, 60).to(kGpu);
  const Tensor w = random({256, 256}, 61, -0.1f, 0.1f).to(DType::kBF16).to(kGpu);
  const Tensor b = random({256}, 62).to(DType::kBF16).to(kGpu);
  const Tensor full = linear(ex, x, w, &b);
  const Tensor operand = linear(ex, x, w, &b, LinearResult::kOperand);
  EXPECT_TRUE(full.dtype() == DType::kF32) << full.describe();
  expect_rounded_once(operand, full, "linear operand");
  // An F32 bias is rounded to BF16 for a BF16 result, as upstream's bf16 Linear holds it.
  const Tensor b32 = random({256}, 63).to(kGpu);
  const Tensor b32_rounded = b32.to(DType::kBF16);
  expect_rounded_once(linear(ex, x, w, &b32, LinearResult::kOperand),
                      linear(ex, x, w, &b32_rounded), "linear operand, F32 bias");
  // k = 0 (cuBLASLt refuses it): the bias alone, rounded to BF16 once.
  const Tensor none =
      linear(ex, Tensor::zeros({3, 0}, DType::kF32).to(kGpu),
             Tensor::zeros({256, 0}, DType::kBF16).to(kGpu), &b32, LinearResult::kOperand);
  ASSERT_TRUE(none.dtype() == DType::kBF16) << none.describe();
  const std::vector<float> rounded_bias = host(b32_rounded).to(DType::kF32).to_vector();
  const std::vector<float> rows = host(none).to(DType::kF32).to_vector();
  for (size_t i = 0; i < rows.size(); ++i) EXPECT_EQ(rows[i], rounded_bias[i % 256]) << i;
  const Tensor wide = operand.to(DType::kF32);

  const Tensor g = random({256}, 64, 0.5f, 1.5f).to(DType::kBF16).to(kGpu);
  expect_rounded_once(rms_norm(ex, operand, &g, 1e-6f), rms_norm(ex, wide, &g, 1e-6f), "rms_norm");
  expect_rounded_once(gelu(ex, operand, true), gelu(ex, wide, true), "gelu tanh");
  expect_rounded_once(silu(ex, operand), silu(ex, wide), "silu");

  const Tensor heads = operand.reshape({1, 40, 2, 128}), heads_wide = wide.reshape({1, 40, 2, 128});
  RopeAngles angles{40, 64, Tensor::empty({40, 64}, DType::kF64)};
  for (int64_t i = 0; i < 40 * 64; ++i) angles.angle.data<double>()[i] = 0.013 * i - 1.7;
  angles.angle = angles.angle.to(kGpu);
  expect_rounded_once(rope_interleaved(ex, heads, angles), rope_interleaved(ex, heads_wide, angles),
                      "rope interleaved");
  const Tensor cos = random({40, 128}, 65).to(kGpu), sin = random({40, 128}, 66).to(kGpu);
  expect_rounded_once(rope_rotate_half(ex, heads, cos, sin),
                      rope_rotate_half(ex, heads_wide, cos, sin), "rope rotate half");

  const Tensor kv = random({1, 30, 2, 128}, 67).to(kGpu).to(DType::kBF16);
  EXPECT_EQ(host(attention(ex, heads, kv, kv)).to_vector(),
            host(attention(ex, heads_wide, kv.to(DType::kF32), kv.to(DType::kF32))).to_vector());
}

// Two GPUs: a tensor moves cuda:0 → cuda:1 (cudaMemcpyPeer; peer access is never enabled) and
// each device computes on its own memory. ctest emulated.two_devices runs it on two emulated
// devices, where a kernel given the other device's memory fails its launch.
TEST(CudaBackend, TwoGpusCopyAndComputeOnTheirOwnMemory) {
  MOVA_REQUIRE_GPU();
  if (cuda::device_count() < 2) GTEST_SKIP() << "needs two CUDA devices";
  const auto first = cuda::open_backend(0, Precision::kF32);
  const auto second = cuda::open_backend(1, Precision::kF32);
  Exec ex(2);
  const Tensor x = random({4, 33}, 21), y = random({4, 33}, 22);
  const Tensor moved = x.to(kGpu).to(Device::cuda(1));
  EXPECT_EQ(moved.device(), Device::cuda(1));
  EXPECT_EQ(moved.to(Device::cpu()).to_vector(), x.to_vector());
  const Tensor sum = binary(ex, BinaryOp::kAdd, moved, y.to(Device::cuda(1)));
  EXPECT_EQ(sum.device(), Device::cuda(1));
  EXPECT_EQ(sum.to(Device::cpu()).to_vector(), binary(ex, BinaryOp::kAdd, x, y).to_vector());
  const Tensor back = sum.to(kGpu);  // and back, then a kernel on cuda:0
  EXPECT_EQ(host(affine(ex, back, 2.0f, 0.0f)).to_vector(),
            affine(ex, binary(ex, BinaryOp::kAdd, x, y), 2.0f, 0.0f).to_vector());
}

// What `mova eval dit-forward --device cuda` runs: a whole tower with its weights on the GPU.
TEST(CudaBackend, TinyDitTowersMatchTheCpu) {
  MOVA_REQUIRE_GPU();
  const TinyModel tiny;
  const Checkpoint& ckpt = tiny.ckpt;
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
    const Tensor got = WanDit(cfg, ckpt.weights(tc.c, kGpu)).forward(ex, x, 640.0f, ctx);
    expect_close_f32(got, expected, 1e-4, component_desc(tc.c).folder);
  }
}

// What `mova eval text-encode|vae-encode|vae-decode|dac-decode --device cuda` run: the text
// encoder and both VAEs of the tiny checkpoint with their weights on the GPU.
TEST(CudaBackend, TinyTextEncoderAndVaesMatchTheCpu) {
  MOVA_REQUIRE_GPU();
  const TinyModel tiny;
  const Checkpoint& ckpt = tiny.ckpt;
  const auto backend = cuda::open_backend(0, Precision::kF32);
  Exec ex(2);
  auto placed = [&](Component c) { return ckpt.weights(c, kGpu); };
  auto check = [](const Tensor& got, const Tensor& expected, const char* what) {
    ASSERT_EQ(got.device(), Device::cpu()) << what;
    ASSERT_EQ(got.shape(), expected.shape()) << what;
    const double err = test::max_rel_error(got, expected);
    EXPECT_LE(err, 1e-4) << what;
    std::printf("[ measure  ] %s: max rel error %.3g\n", what, err);
  };
  const std::vector<int64_t> ids = {5, 17, 3, 1, 0, 0}, mask = {1, 1, 1, 1, 0, 0};
  check(Umt5Encoder(ckpt.text_encoder_config(), placed(Component::kTextEncoder))
            .encode(ex, ids, mask),
        Umt5Encoder(ckpt.text_encoder_config(), ckpt.weights(Component::kTextEncoder))
            .encode(ex, ids, mask),
        "text encoder");

  const WanVae vae_cpu(ckpt.video_vae_config(), ckpt.weights(Component::kVideoVae));
  const WanVae vae_gpu(ckpt.video_vae_config(), placed(Component::kVideoVae));
  const Tensor video = random({1, 3, 9, 16, 24}, 32);
  const Tensor z = vae_cpu.encode(ex, video);
  check(vae_gpu.encode(ex, video), z, "video VAE encode");
  check(vae_gpu.decode(ex, z), vae_cpu.decode(ex, z), "video VAE decode");

  const Tensor image = video.narrow(2, 0, 1).squeeze(2).contiguous();
  check(vae_gpu.image_condition(ex, image, 9), vae_cpu.image_condition(ex, image, 9),
        "image condition");

  const DacVae dac_cpu(ckpt.audio_vae_config(), ckpt.weights(Component::kAudioVae));
  const DacVae dac_gpu(ckpt.audio_vae_config(), placed(Component::kAudioVae));
  const int64_t n = 4 * ckpt.audio_vae_config().hop_length() - 3;
  const Tensor audio = random({1, 1, n}, 33);
  const Tensor za = dac_cpu.encode(ex, audio);
  check(dac_gpu.encode(ex, audio), za, "audio VAE encode");
  check(dac_gpu.decode(ex, za), dac_cpu.decode(ex, za), "audio VAE decode");
}

// What `mova eval denoise-step|sample --device cuda` run: a joint pass (both experts, the
// bridge) and a short guided sampling loop, the denoiser on the GPU, the loop on the host.
TEST(CudaBackend, TinyJointStepAndSamplingMatchTheCpu) {
  MOVA_REQUIRE_GPU();
  const TinyModel tiny;
  const Checkpoint& ckpt = tiny.ckpt;
  const auto backend = cuda::open_backend(0, Precision::kF32);
  Exec ex(2);
  const JointDenoiser cpu(ckpt), gpu(ckpt, kGpu);
  // The same on the GPU over chunks of 3 tokens (8 video, 9 audio): row views into device
  // memory, the RoPE tables' rows, the residual streams updated in place (row_chunks.h).
  JointDenoiser chunked(ckpt, kGpu);
  chunked.set_chunk_tokens(3);
  SampleRequest r;
  r.video_noise = random({1, 16, 2, 4, 4}, 41, -2.0f, 2.0f);
  r.audio_noise = random({1, 8, 9}, 42, -2.0f, 2.0f);
  r.video_condition = random({1, 20, 2, 4, 4}, 43);
  r.context = random({1, 5, 48}, 44);
  r.negative_context = random({1, 3, 48}, 45);
  r.steps = 4;
  r.cfg = 5.0f;
  for (int expert : {1, 2}) {
    const Velocities want = cpu.step(ex, expert, r.video_noise, r.video_condition, r.audio_noise,
                                     r.context, 700.0f, 650.0f, 24.0);
    const Velocities got = gpu.step(ex, expert, r.video_noise, r.video_condition, r.audio_noise,
                                    r.context, 700.0f, 650.0f, 24.0);
    EXPECT_LE(test::max_rel_error(got.video, want.video), 1e-4) << "expert " << expert;
    EXPECT_LE(test::max_rel_error(got.audio, want.audio), 1e-4) << "expert " << expert;
    const Velocities in_chunks = chunked.step(ex, expert, r.video_noise, r.video_condition,
                                              r.audio_noise, r.context, 700.0f, 650.0f, 24.0);
    EXPECT_LE(test::max_rel_error(in_chunks.video, want.video), 1e-4)
        << "chunks, expert " << expert;
    EXPECT_LE(test::max_rel_error(in_chunks.audio, want.audio), 1e-4)
        << "chunks, expert " << expert;
  }
  const FlowMatchPairScheduler sched(ckpt.scheduler_config());
  const SampleResult want = sample(ex, cpu, sched, r), got = sample(ex, gpu, sched, r);
  const double video = test::max_rel_error(got.video_latents, want.video_latents);
  const double audio = test::max_rel_error(got.audio_latents, want.audio_latents);
  std::printf("[ measure  ] 4-step guided sampling: video max rel %.3g, audio %.3g\n", video,
              audio);
  EXPECT_LE(video, 1e-4);
  EXPECT_LE(audio, 1e-4);
}

}  // namespace
}  // namespace mova
