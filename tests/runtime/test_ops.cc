// Pointwise, reduction and normalisation ops against naive double-precision references.
// Tolerance: 1e-5 relative (+1e-6 absolute) — the fp32 budget in DEVELOPERS.md.
#include <gtest/gtest.h>

#include <cmath>

#include "runtime/exec.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/concat.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/gather.h"
#include "runtime/ops/norm.h"
#include "runtime/ops/reduce.h"
#include "runtime/ops/rope.h"
#include "runtime/ops/upsample.h"
#include "test_util.h"

namespace mova {
namespace {

void expect_close(const Tensor& t, const std::vector<double>& ref, const char* what) {
  const auto v = t.to_vector();
  ASSERT_EQ(v.size(), ref.size()) << what;
  for (size_t i = 0; i < v.size(); ++i)
    ASSERT_NEAR(v[i], ref[i], 1e-5 * std::fabs(ref[i]) + 1e-6) << what << " at " << i;
}

class Ops : public ::testing::Test {
 protected:
  Exec ex{2};
  const int64_t rows = 37, dim = 129;
  std::vector<float> xv = test::random_vector(rows * dim, 5, -4.0f, 4.0f);
  Tensor x = Tensor::from_vector({rows, dim}, xv);
};

// Over dim 0 of [C, positions], as the Wan VAE normalises channels; then SiLU when asked.
TEST_F(Ops, ChannelRmsNorm) {
  const int64_t C = 7, P = 53;
  const auto gv = test::random_vector(C, 8, 0.5f, 1.5f);
  const Tensor xc = Tensor::from_vector({C, 1, P}, test::random_vector(C * P, 9, -3, 3));
  const Tensor gamma = Tensor::from_vector({C}, gv).to(DType::kBF16);
  const auto xs = xc.to_vector(), gs = gamma.to_vector();
  for (bool then_silu : {false, true}) {
    std::vector<double> ref(xs.size());
    for (int64_t i = 0; i < P; ++i) {
      double ss = 0;
      for (int64_t c = 0; c < C; ++c) ss += double(xs[c * P + i]) * xs[c * P + i];
      for (int64_t c = 0; c < C; ++c) {
        const double y = xs[c * P + i] / std::sqrt(ss) * std::sqrt(double(C)) * gs[c];
        ref[c * P + i] = then_silu ? y / (1 + std::exp(-y)) : y;
      }
    }
    expect_close(channel_rms_norm(ex, xc, gamma, then_silu), ref, "channel_rms_norm");
  }
  // A position of zeros stays zero (the norm is clamped at 1e-12, not divided by 0).
  const Tensor zeros = Tensor::zeros({C, 2}, DType::kF32);
  EXPECT_EQ(channel_rms_norm(ex, zeros, gamma, true).to_vector(), std::vector<float>(2 * C, 0.0f));
  test::expect_error([&] { channel_rms_norm(ex, xc.narrow(0, 0, 3), gamma, false); },
                     {"channel_rms_norm: gamma", "does not have the 3 channels"});
}

// The DiT's adaLN and gated residual, fused: the same values as their op sequences, and the
// naive formulas.
TEST_F(Ops, LayerNormModulateAndGatedResidual) {
  const Tensor shift = Tensor::from_vector({1, 1, dim}, test::random_vector(dim, 12));
  const Tensor scale = Tensor::from_vector({1, dim}, test::random_vector(dim, 13)).to(DType::kBF16);
  const Tensor x3 = x.unsqueeze(0);
  const Tensor fused = layer_norm_modulate(ex, x3, shift, scale, 1e-6f);
  const Tensor chain = add(ex,
                           mul(ex, layer_norm(ex, x3, nullptr, nullptr, 1e-6f),
                               affine(ex, scale.to(DType::kF32), 1.0f, 1.0f)),
                           shift);
  const auto sh = shift.to_vector(), sc = scale.to_vector();
  std::vector<double> ref(xv.size());
  for (int64_t r = 0; r < rows; ++r) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < dim; ++i) m += xv[r * dim + i];
    m /= dim;
    for (int64_t i = 0; i < dim; ++i) v += (xv[r * dim + i] - m) * (xv[r * dim + i] - m);
    v /= dim;
    for (int64_t i = 0; i < dim; ++i)
      ref[r * dim + i] = (xv[r * dim + i] - m) / std::sqrt(v + 1e-6) * (1.0 + sc[i]) + sh[i];
  }
  expect_close(fused, ref, "layer_norm_modulate");
  EXPECT_LE(test::max_rel_error(fused, chain), 1e-6);

  const Tensor gate = Tensor::from_vector({1, 1, dim}, test::random_vector(dim, 14));
  const Tensor y = Tensor::from_vector({1, rows, dim}, test::random_vector(rows * dim, 15));
  const Tensor res = gated_residual(ex, x3, gate, y);
  EXPECT_EQ(res.to_vector(), add(ex, x3, mul(ex, gate, y)).to_vector());
  const auto gv = gate.to_vector(), yv = y.to_vector();
  for (int64_t i = 0; i < rows * dim; ++i) ref[i] = double(xv[i]) + double(gv[i % dim]) * yv[i];
  expect_close(res, ref, "gated_residual");
  test::expect_error([&] { gated_residual(ex, x3, gate.narrow(2, 0, 5), y); },
                     {"gated_residual: x", "must be [..., D], [D] and [..., D]"});
  test::expect_error([&] { layer_norm_modulate(ex, x3, shift, scale.narrow(1, 0, 3), 1e-6f); },
                     {"layer_norm_modulate scale", "does not match the last dim"});
}

TEST_F(Ops, UpsampleNearest2x) {
  const Tensor s = Tensor::from_vector({2, 3, 5, 7}, test::random_vector(210, 16));
  const Tensor up = upsample_nearest2x(ex, s.permute({0, 1, 3, 2}));  // a strided input too
  ASSERT_EQ(up.shape(), Shape({2, 3, 14, 10}));
  const Tensor src = s.permute({0, 1, 3, 2}).contiguous();
  for (int64_t p = 0; p < 6; ++p)
    for (int64_t i = 0; i < 14; ++i)
      for (int64_t j = 0; j < 10; ++j)
        ASSERT_EQ(up.item_f32({p / 3, p % 3, i, j}), src.item_f32({p / 3, p % 3, i / 2, j / 2}))
            << p << " " << i << " " << j;
  test::expect_error(
      [&] {
        upsample_nearest2x(ex, Tensor::from_vector({3}, {1, 2, 3}));
      },
      {"upsample_nearest2x", "must be F32 [..., H, W]"});
}

TEST_F(Ops, Snake) {
  const int64_t C = 5, L = 77;
  const auto av = test::random_vector(C, 10, 0.2f, 2.0f);
  const Tensor xs = Tensor::from_vector({C, L}, test::random_vector(C * L, 11, -3, 3));
  const auto xv2 = xs.to_vector();
  std::vector<double> ref(xv2.size());
  for (int64_t c = 0; c < C; ++c)
    for (int64_t i = 0; i < L; ++i) {
      const double s = std::sin(double(av[c]) * xv2[c * L + i]);
      ref[c * L + i] = xv2[c * L + i] + s * s / (double(av[c]) + 1e-9);
    }
  expect_close(snake(ex, xs, Tensor::from_vector({C}, av)), ref, "snake");
  test::expect_error(
      [&] {
        snake(ex, xs, Tensor::from_vector({2}, {1, 2}));
      },
      {"snake: alpha", "does not have the 5 channels"});
}

// Rows by index from F32, BF16 and F16 tables (widened), repeats and any order, as rows or as
// columns; bad indices and tables are errors naming them.
TEST_F(Ops, GatherRows) {
  const std::vector<int64_t> picks = {36, 0, 5, 5, 17, 36, 1};
  Tensor index = Tensor::empty({static_cast<int64_t>(picks.size())}, DType::kI64);
  std::copy(picks.begin(), picks.end(), index.data<int64_t>());
  for (const DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
    const Tensor table = x.to(dtype);
    const auto tv = table.to(DType::kF32).to_vector();  // the stored values, widened
    std::vector<double> ref;
    for (const int64_t r : picks)
      for (int64_t c = 0; c < dim; ++c) ref.push_back(tv[r * dim + c]);
    const Tensor got = gather_rows(ex, table, index);
    EXPECT_EQ(got.shape(), Shape({static_cast<int64_t>(picks.size()), dim}));
    EXPECT_EQ(got.dtype(), DType::kF32);
    expect_close(got, ref, dtype_name(dtype));
    const Tensor cols = gather_rows_transposed(ex, table, index);
    EXPECT_EQ(cols.shape(), Shape({dim, static_cast<int64_t>(picks.size())}));
    expect_close(cols.transpose(0, 1).contiguous(), ref, dtype_name(dtype));
  }
  index.data<int64_t>()[3] = rows;
  test::expect_error([&] { gather_rows(ex, x, index); },
                     {"gather_rows: index 37 at position 3", "outside the 37 rows"});
  index.data<int64_t>()[3] = -1;
  test::expect_error([&] { gather_rows(ex, x, index); }, {"index -1 at position 3"});
  test::expect_error([&] { gather_rows_transposed(ex, x, index); },
                     {"gather_rows_transposed: index -1 at position 3"});
  test::expect_error([&] { gather_rows(ex, x, x.narrow(0, 0, 1).reshape({dim})); },
                     {"gather_rows: indices", "must be I64 [M]"});
  test::expect_error([&] { gather_rows(ex, x.reshape({-1}), index); },
                     {"gather_rows: table", "[N, D]"});
}

TEST_F(Ops, Softmax) {
  std::vector<double> ref(xv.size());
  for (int64_t r = 0; r < rows; ++r) {
    double mx = -1e30, s = 0;
    for (int64_t i = 0; i < dim; ++i) mx = std::max<double>(mx, xv[r * dim + i]);
    for (int64_t i = 0; i < dim; ++i) s += std::exp(xv[r * dim + i] - mx);
    for (int64_t i = 0; i < dim; ++i) ref[r * dim + i] = std::exp(xv[r * dim + i] - mx) / s;
  }
  expect_close(softmax(ex, x), ref, "softmax");
}

TEST_F(Ops, LayerNormWithAndWithoutAffine) {
  auto wv = test::random_vector(dim, 6, 0.5f, 1.5f);
  auto bv = test::random_vector(dim, 7);
  Tensor w = Tensor::from_vector({dim}, wv).to(DType::kBF16);  // stored like a checkpoint
  Tensor b = Tensor::from_vector({dim}, bv);
  const auto w_rounded = w.to_vector();
  for (bool affine : {false, true}) {
    std::vector<double> ref(xv.size());
    for (int64_t r = 0; r < rows; ++r) {
      double mean = 0, var = 0;
      for (int64_t i = 0; i < dim; ++i) mean += xv[r * dim + i];
      mean /= dim;
      for (int64_t i = 0; i < dim; ++i) var += std::pow(xv[r * dim + i] - mean, 2);
      var /= dim;
      for (int64_t i = 0; i < dim; ++i) {
        double v = (xv[r * dim + i] - mean) / std::sqrt(var + 1e-6);
        if (affine) v = v * w_rounded[i] + bv[i];
        ref[r * dim + i] = v;
      }
    }
    expect_close(layer_norm(ex, x, affine ? &w : nullptr, affine ? &b : nullptr, 1e-6f), ref,
                 "layer_norm");
  }
}

TEST_F(Ops, RmsNorm) {
  auto wv = test::random_vector(dim, 8, 0.5f, 1.5f);
  Tensor w = Tensor::from_vector({dim}, wv);
  std::vector<double> ref(xv.size());
  for (int64_t r = 0; r < rows; ++r) {
    double ms = 0;
    for (int64_t i = 0; i < dim; ++i) ms += std::pow(xv[r * dim + i], 2);
    ms /= dim;
    for (int64_t i = 0; i < dim; ++i)
      ref[r * dim + i] = xv[r * dim + i] / std::sqrt(ms + 1e-6) * wv[i];
  }
  expect_close(rms_norm(ex, x, &w, 1e-6f), ref, "rms_norm");
  Tensor wrong = Tensor::zeros({dim + 1}, DType::kF32).set_name("norm_q.weight");
  test::expect_error([&] { rms_norm(ex, x, &wrong, 1e-6f); }, {"norm_q.weight"});
}

TEST_F(Ops, Activations) {
  std::vector<double> gt(xv.size()), ge(xv.size()), si(xv.size());
  for (size_t i = 0; i < xv.size(); ++i) {
    const double v = xv[i];
    gt[i] = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    ge[i] = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    si[i] = v / (1 + std::exp(-v));
  }
  expect_close(gelu(ex, x, true), gt, "gelu_tanh");
  expect_close(gelu(ex, x, false), ge, "gelu_erf");
  expect_close(silu(ex, x), si, "silu");
}

// Interleaved RoPE: channels (2j, 2j+1) of every head rotated by angle[position, j], the
// table shared by both batch items and all heads (the CPU op computes a position's cosines
// once for all its heads); rotate-half pairs j with j + D/2 through given cos/sin tables.
TEST_F(Ops, RopeBothConventions) {
  const int64_t B = 2, L = 5, H = 3, pairs = 4, D = 2 * pairs;
  const auto qv = test::random_vector(B * L * H * D, 21, -2, 2);
  const Tensor q = Tensor::from_vector({B, L, H, D}, qv);
  RopeAngles angles{L, pairs, Tensor::empty({L, pairs}, DType::kF64)};
  double* a = angles.angle.data<double>();
  for (int64_t i = 0; i < L * pairs; ++i) a[i] = 0.37 * static_cast<double>(i) - 2.1;
  std::vector<double> ref(qv.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t l = 0; l < L; ++l)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < pairs; ++j) {
          const int64_t i = ((b * L + l) * H + h) * D + 2 * j;
          const double t = a[l * pairs + j], re = qv[i], im = qv[i + 1];
          ref[i] = re * std::cos(t) - im * std::sin(t);
          ref[i + 1] = re * std::sin(t) + im * std::cos(t);
        }
  expect_close(rope_interleaved(ex, q, angles), ref, "rope_interleaved");

  const auto cv = test::random_vector(L * D, 22), sv = test::random_vector(L * D, 23);
  const Tensor cos = Tensor::from_vector({L, D}, cv), sin = Tensor::from_vector({L, D}, sv);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t l = 0; l < L; ++l)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < D; ++j) {
          const int64_t row = ((b * L + l) * H + h) * D;
          const double rotated = j < D / 2 ? -double(qv[row + j + D / 2]) : qv[row + j - D / 2];
          ref[row + j] = qv[row + j] * double(cv[l * D + j]) + rotated * sv[l * D + j];
        }
  expect_close(rope_rotate_half(ex, q, cos, sin), ref, "rope_rotate_half");
}

// BF16 activations are a device backend's BF16-path hand-offs (runtime/ops/handoff.h): the CPU
// computes in F32 and refuses them by name rather than reading their bits as floats.
TEST_F(Ops, HandoffOpsRefuseBf16OnTheHost) {
  const Tensor b = x.to(DType::kBF16);
  test::expect_error([&] { rms_norm(ex, b, nullptr, 1e-6f); }, {"rms_norm", "BF16", "F32"});
  test::expect_error([&] { gelu(ex, b, true); }, {"gelu", "BF16", "F32"});
  test::expect_error([&] { silu(ex, b); }, {"silu", "BF16", "F32"});
  const Tensor q = Tensor::zeros({1, 2, 1, 4}, DType::kBF16);
  RopeAngles angles{2, 2, Tensor::zeros({2, 2}, DType::kF64)};
  test::expect_error([&] { rope_interleaved(ex, q, angles); }, {"rope_interleaved", "BF16"});
  const Tensor table = Tensor::zeros({2, 4}, DType::kF32);
  test::expect_error([&] { rope_rotate_half(ex, q, table, table); }, {"rope_rotate_half", "BF16"});
  test::expect_error([&] { attention(ex, q, q, q); }, {"attention", "BF16"});
}

TEST_F(Ops, ReductionsOverEveryDim) {
  Tensor t = x.reshape({rows, 3, 43});
  for (int d = 0; d < 3; ++d) {
    const Tensor s = sum(ex, t, d), m = mean(ex, t, d), mx = max(ex, t, d, true);
    const auto sv = s.to_vector(), mv = m.to_vector(), xvv = mx.to_vector();
    const int64_t sizes[3] = {rows, 3, 43};
    int64_t idx = 0;
    for (int64_t a = 0; a < (d == 0 ? 1 : sizes[0]); ++a)
      for (int64_t b = 0; b < (d == 1 ? 1 : sizes[1]); ++b)
        for (int64_t c = 0; c < (d == 2 ? 1 : sizes[2]); ++c, ++idx) {
          double ref = 0, refmax = -1e30;
          for (int64_t j = 0; j < sizes[d]; ++j) {
            const int64_t i0 = d == 0 ? j : a, i1 = d == 1 ? j : b, i2 = d == 2 ? j : c;
            const double v = t.item_f32({i0, i1, i2});
            ref += v;
            refmax = std::max(refmax, v);
          }
          ASSERT_NEAR(sv[idx], ref, 1e-5 * std::fabs(ref) + 1e-5);
          ASSERT_NEAR(mv[idx], ref / sizes[d], 1e-5 * std::fabs(ref) + 1e-6);
          ASSERT_EQ(xvv[idx], refmax);
        }
    EXPECT_EQ(mx.dim(), 3);
    EXPECT_EQ(s.dim(), 2);
  }
}

TEST_F(Ops, BinaryBroadcastsLikeTorch) {
  Tensor a = x.reshape({rows, 1, dim});
  Tensor b = Tensor::from_vector({2, 1}, {3.0f, -1.0f});
  Tensor y = mul(ex, a, b);  // [rows, 2, dim]
  ASSERT_EQ(y.shape(), (Shape{rows, 2, dim}));
  EXPECT_FLOAT_EQ(y.item_f32({4, 1, 7}), -xv[4 * dim + 7]);
  EXPECT_FLOAT_EQ(y.item_f32({4, 0, 7}), 3 * xv[4 * dim + 7]);
  // Non-contiguous operand.
  Tensor xt = x.transpose(0, 1);  // [dim, rows]
  Tensor z = add(ex, xt, xt);
  EXPECT_FLOAT_EQ(z.item_f32({5, 2}), 2 * xv[2 * dim + 5]);
  EXPECT_FLOAT_EQ(sub(ex, x, x).item_f32({1, 1}), 0.0f);
  EXPECT_FLOAT_EQ(div(ex, b, b).item_f32({1, 0}), 1.0f);
  EXPECT_FLOAT_EQ(affine(ex, b, 2.0f, 1.0f).item_f32({0, 0}), 7.0f);
  test::expect_error([&] { add(ex, x, Tensor::zeros({3}, DType::kF32)); },
                     {"do not broadcast", "[37, 129]", "[3]"});
}

}  // namespace
}  // namespace mova

namespace mova {
namespace {

TEST(Concat, EveryDimAgainstIndexing) {
  const Shape a_shape{2, 3, 4}, b_shape_base{2, 3, 4};
  for (int dim = 0; dim < 3; ++dim) {
    Shape bs = b_shape_base;
    bs[dim] = 2;
    const auto va = test::random_vector(24, 1), vb = test::random_vector(bs[0] * bs[1] * bs[2], 2);
    const Tensor a = Tensor::from_vector(a_shape, va);
    // A non-contiguous, BF16 second input: concat converts and gathers.
    const Tensor b =
        Tensor::from_vector({bs[2], bs[1], bs[0]}, vb).to(DType::kBF16).permute({2, 1, 0});
    const Tensor empty = Tensor::empty(dim == 0   ? Shape{0, 3, 4}
                                       : dim == 1 ? Shape{2, 0, 4}
                                                  : Shape{2, 3, 0},
                                       DType::kF32);
    const Tensor c = concat({a, empty, b}, dim);
    Shape want = a_shape;
    want[dim] += 2;
    ASSERT_EQ(c.shape(), want);
    for (int64_t i = 0; i < want[0]; ++i)
      for (int64_t j = 0; j < want[1]; ++j)
        for (int64_t k = 0; k < want[2]; ++k) {
          std::vector<int64_t> idx{i, j, k};
          const float got = c.item_f32(idx);
          if (idx[dim] < a_shape[dim]) {
            EXPECT_EQ(got, a.item_f32(idx));
          } else {
            idx[dim] -= a_shape[dim];
            EXPECT_EQ(got, b.item_f32(idx));
          }
        }
  }
  test::expect_error(
      [] {
        concat({Tensor::empty({2, 3}, DType::kF32), Tensor::empty({3, 3}, DType::kF32)}, 1);
      },
      {"cannot concatenate"});
}

}  // namespace
}  // namespace mova
