// conv1d / conv_transpose1d against naive double loops written from torch's definitions, over
// strides, paddings, dilations, output padding and lengths that span several im2col chunks.
// Tolerance 1e-5 relative (+1e-5 absolute).
#include <gtest/gtest.h>

#include "runtime/exec.h"
#include "runtime/ops/conv.h"
#include "test_util.h"

namespace mova {
namespace {

Tensor rnd(const Shape& s, uint32_t seed) {
  return Tensor::from_vector(s, test::random_vector(shape_numel(s), seed));
}

TEST(Conv1d, MatchesNaive) {
  Exec ex(2);
  struct C {
    int64_t cin, cout, k, L, s, p, d;
  };
  for (const C& c : {C{1, 4, 7, 50, 1, 3, 1}, C{3, 5, 7, 40, 1, 9, 3}, C{4, 8, 10, 100, 5, 3, 1},
                     C{2, 3, 1, 5000, 1, 0, 1}, C{6, 2, 3, 4500, 2, 1, 1}}) {
    const Tensor x = rnd({c.cin, c.L}, 1), w = rnd({c.cout, c.cin, c.k}, 2), b = rnd({c.cout}, 3);
    Conv1dParams p;
    p.stride = c.s;
    p.padding = c.p;
    p.dilation = c.d;
    const Tensor y = conv1d(ex, x, w.to(DType::kBF16), &b, p);
    const Tensor wr = w.to(DType::kBF16).to(DType::kF32);
    const int64_t L_out = (c.L + 2 * c.p - c.d * (c.k - 1) - 1) / c.s + 1;
    ASSERT_EQ(y.shape(), (Shape{c.cout, L_out}));
    for (int64_t co = 0; co < c.cout; ++co)
      for (int64_t o = 0; o < L_out; ++o) {
        double ref = b.item_f32({co});
        for (int64_t ci = 0; ci < c.cin; ++ci)
          for (int64_t kk = 0; kk < c.k; ++kk) {
            const int64_t pos = o * c.s - c.p + kk * c.d;
            if (pos >= 0 && pos < c.L) ref += wr.item_f32({co, ci, kk}) * x.item_f32({ci, pos});
          }
        ASSERT_NEAR(y.item_f32({co, o}), ref, 1e-5 * std::fabs(ref) + 1e-5) << co << "," << o;
      }
  }
}

TEST(ConvTranspose1d, MatchesNaive) {
  Exec ex(2);
  struct C {
    int64_t cin, cout, k, L, s, p, op;
  };
  // DAC decoder blocks use kernel 2s, stride s, padding ceil(s/2), output_padding s % 2.
  for (const C& c : {C{4, 2, 16, 9, 8, 4, 0}, C{3, 5, 10, 7, 5, 3, 1}, C{2, 2, 6, 3000, 3, 2, 1},
                     C{5, 3, 4, 2500, 2, 1, 0}}) {
    const Tensor x = rnd({c.cin, c.L}, 4), w = rnd({c.cin, c.cout, c.k}, 5), b = rnd({c.cout}, 6);
    Conv1dParams p;
    p.stride = c.s;
    p.padding = c.p;
    p.output_padding = c.op;
    const Tensor y = conv_transpose1d(ex, x, w, &b, p);
    const int64_t L_out = (c.L - 1) * c.s - 2 * c.p + c.k + c.op;
    ASSERT_EQ(y.shape(), (Shape{c.cout, L_out}));
    std::vector<double> ref(c.cout * L_out);
    for (int64_t co = 0; co < c.cout; ++co)
      for (int64_t o = 0; o < L_out; ++o) ref[co * L_out + o] = b.item_f32({co});
    for (int64_t ci = 0; ci < c.cin; ++ci)
      for (int64_t i = 0; i < c.L; ++i)
        for (int64_t co = 0; co < c.cout; ++co)
          for (int64_t kk = 0; kk < c.k; ++kk) {
            const int64_t pos = i * c.s - c.p + kk;
            if (pos >= 0 && pos < L_out)
              ref[co * L_out + pos] += w.item_f32({ci, co, kk}) * x.item_f32({ci, i});
          }
    const auto got = y.to_vector();
    for (size_t i = 0; i < ref.size(); ++i)
      ASSERT_NEAR(got[i], ref[i], 1e-5 * std::fabs(ref[i]) + 1e-5) << i;
  }
}

TEST(Conv1d, RejectsBadShapes) {
  Exec ex(1);
  const Tensor w = rnd({4, 3, 5}, 1).set_name("decoder.model.0.weight");
  test::expect_error(
      [&] {
        conv1d(ex, rnd({2, 10}, 2), w, nullptr, {});
      },
      {"decoder.model.0.weight", "[2, 10]"});
  test::expect_error([&] { conv1d(ex, rnd({3, 2}, 2), w, nullptr, {}); }, {"shorter than"});
}

}  // namespace
}  // namespace mova
