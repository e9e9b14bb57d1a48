// Tiled attention against a naive double-precision softmax(q·kᵀ·scale + bias)·v that
// materialises the full score matrix. Tolerance 1e-5 relative (+1e-6 absolute).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>

#include "runtime/exec.h"
#include "runtime/ops/attention.h"
#include "test_util.h"

namespace mova {
namespace {

struct Dims {
  int64_t B, Lq, Lk, H, D, Dv;
};

std::vector<double> reference(const Tensor& q, const Tensor& k, const Tensor& v, double scale,
                              const Tensor* bias, const Tensor* mask) {
  const int64_t B = q.size(0), Lq = q.size(1), H = q.size(2), D = q.size(3);
  const int64_t Lk = k.size(1), Dv = v.size(3);
  std::vector<double> out(B * Lq * H * Dv);
  std::vector<double> s(Lk);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < Lq; ++i) {
        double mx = -1e300;
        for (int64_t j = 0; j < Lk; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += q.item_f32({b, i, h, d}) * k.item_f32({b, j, h, d});
          s[j] = dot * scale;
          if (bias) s[j] += bias->item_f32({bias->size(0) == 1 ? 0 : h, i, j});
          if (mask && mask->item_f32({b, j}) == 0.0f) s[j] += -FLT_MAX;
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < Lk; ++j) sum += (s[j] = std::exp(s[j] - mx));
        for (int64_t e = 0; e < Dv; ++e) {
          double acc = 0;
          for (int64_t j = 0; j < Lk; ++j) acc += s[j] * v.item_f32({b, j, h, e});
          out[((b * Lq + i) * H + h) * Dv + e] = acc / sum;
        }
      }
  return out;
}

Tensor rand_tensor(const Shape& shape, uint32_t seed, float amp = 1.0f) {
  return Tensor::from_vector(shape, test::random_vector(shape_numel(shape), seed, -amp, amp));
}

void check(const Dims& d, bool with_bias, bool with_mask, int threads) {
  Exec ex(threads);
  // q comes as a strided view of a fused projection [B, Lq, H*(D+3)], like real models.
  Tensor fused = rand_tensor({d.B, d.Lq, d.H, d.D + 3}, 1, 2.0f);
  Tensor q = fused.narrow(3, 1, d.D);
  Tensor k = rand_tensor({d.B, d.Lk, d.H, d.D}, 2, 2.0f);
  Tensor v = rand_tensor({d.B, d.Lk, d.H, d.Dv}, 3);
  Tensor bias = rand_tensor({d.H, d.Lq, d.Lk}, 4, 3.0f);
  std::vector<float> mv(d.B * d.Lk, 1.0f);
  for (int64_t i = 0; i < d.B * d.Lk; i += 3) mv[i] = 0.0f;  // pad every third key
  Tensor mask = Tensor::from_vector({d.B, d.Lk}, mv);
  AttentionOptions opt;
  if (with_bias) opt.bias = &bias;
  if (with_mask) opt.key_mask = &mask;
  const Tensor out = attention(ex, q, k, v, opt);
  ASSERT_EQ(out.shape(), (Shape{d.B, d.Lq, d.H, d.Dv}));
  const auto ref = reference(q, k, v, 1.0 / std::sqrt(static_cast<double>(d.D)),
                             with_bias ? &bias : nullptr, with_mask ? &mask : nullptr);
  const auto got = out.to_vector();
  for (size_t i = 0; i < ref.size(); ++i)
    ASSERT_NEAR(got[i], ref[i], 1e-5 * std::fabs(ref[i]) + 1e-6)
        << "at " << i << " Lq=" << d.Lq << " Lk=" << d.Lk << " D=" << d.D;
}

TEST(Attention, OddShapesAcrossTiles) {
  for (const Dims& d : {Dims{1, 1, 1, 1, 8, 8}, Dims{2, 7, 5, 3, 16, 24},
                        Dims{1, 70, 300, 2, 24, 16}, Dims{1, 130, 513, 1, 64, 64}})
    check(d, false, false, 2);
}

TEST(Attention, BiasAndKeyMask) {
  check({2, 33, 40, 4, 8, 8}, true, false, 2);
  check({2, 33, 40, 4, 8, 8}, false, true, 3);
  check({1, 65, 260, 2, 12, 12}, true, true, 1);
}

TEST(Attention, AllKeysMaskedIsUniformLikeTorch) {
  Exec ex(1);
  Tensor q = rand_tensor({1, 2, 1, 4}, 5), k = rand_tensor({1, 3, 1, 4}, 6);
  Tensor v = Tensor::from_vector({1, 3, 1, 1}, {1.0f, 2.0f, 6.0f});
  Tensor mask = Tensor::zeros({1, 3}, DType::kF32);
  AttentionOptions opt;
  opt.key_mask = &mask;
  const Tensor out = attention(ex, q, k, v, opt);
  EXPECT_NEAR(out.item_f32({0, 0, 0, 0}), 3.0f, 1e-5f);
}

TEST(Attention, MinusInfinityBiasOnWholeKeyTiles) {
  // A −∞ bias (a causal or windowed mask) can cover every key of a tile, the first one
  // included: those keys weigh 0 and the row stays finite (softmax's answer), while a row with
  // no finite logit is NaN as in torch.
  Exec ex(2);
  const Dims d{1, 4, 513, 1, 8, 8};
  Tensor q = rand_tensor({d.B, d.Lq, d.H, d.D}, 11), k = rand_tensor({d.B, d.Lk, d.H, d.D}, 12);
  Tensor v = rand_tensor({d.B, d.Lk, d.H, d.Dv}, 13);
  std::vector<float> bv(d.Lq * d.Lk, 0.0f);
  for (int64_t j = 0; j < 300; ++j) bv[0 * d.Lk + j] = -INFINITY;    // the first tile and more
  for (int64_t j = 256; j < 513; ++j) bv[1 * d.Lk + j] = -INFINITY;  // the later tiles
  for (int64_t j = 0; j < 512; ++j) bv[2 * d.Lk + j] = -INFINITY;    // only the last key
  for (int64_t j = 0; j < 513; ++j) bv[3 * d.Lk + j] = -INFINITY;    // no key at all
  Tensor bias = Tensor::from_vector({1, d.Lq, d.Lk}, bv);
  AttentionOptions opt;
  opt.bias = &bias;
  const Tensor out = attention(ex, q, k, v, opt);
  const auto ref = reference(q, k, v, 1.0 / std::sqrt(8.0), &bias, nullptr);
  const auto got = out.to_vector();
  for (int64_t i = 0; i < 3 * d.Dv; ++i)
    ASSERT_NEAR(got[i], ref[i], 1e-5 * std::fabs(ref[i]) + 1e-6) << "at " << i;
  for (int64_t e = 0; e < d.Dv; ++e) {
    EXPECT_NEAR(got[2 * d.Dv + e], v.item_f32({0, 512, 0, e}), 1e-6);
    EXPECT_TRUE(std::isnan(got[3 * d.Dv + e]));
  }
}

TEST(Attention, MemoryStaysLinearInSequenceLength) {
  // 8192 queries × 8192 keys: a materialised score matrix would be 256 MiB. The op may only
  // allocate its output from the pool (scratch tiles are per-thread and small).
  Exec ex(2);
  const int64_t L = 8192, D = 16;
  Tensor q = rand_tensor({1, L, 1, D}, 7), k = rand_tensor({1, L, 1, D}, 8);
  Tensor v = rand_tensor({1, L, 1, D}, 9);
  const Tensor out = attention(ex, q, k, v);
  EXPECT_LE(ex.buffers().stats().peak_in_use, static_cast<size_t>(L * D * 4 * 5 / 4));
  EXPECT_TRUE(std::isfinite(out.item_f32({0, L - 1, 0, D - 1})));
}

TEST(Attention, RejectsMismatchedShapes) {
  Exec ex(1);
  Tensor q = rand_tensor({1, 4, 2, 8}, 1), k = rand_tensor({1, 5, 2, 6}, 2);
  test::expect_error([&] { attention(ex, q, k, k); },
                     {"attention", "[1, 4, 2, 8]", "[1, 5, 2, 6]"});
  Tensor bias = rand_tensor({3, 4, 4}, 3);
  AttentionOptions opt;
  opt.bias = &bias;
  test::expect_error([&] { attention(ex, q, q, q, opt); }, {"bias", "[3, 4, 4]"});
}

}  // namespace
}  // namespace mova
