// conv1d / conv_transpose1d / conv3d against naive double loops written from torch's
// definitions, over strides, paddings (conv3d: asymmetric, as the causal video VAE pads time),
// dilations, output padding and sizes that span several im2col blocks. Tolerance 1e-5 relative
// (+1e-5 absolute).
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

TEST(Conv3d, MatchesNaive) {
  struct C {
    int64_t cin, cout, T, H, W, kt, kh, kw, st, sh, sw, pt_front, pt_back, ph, pw;
  };
  for (const C& c : {C{3, 5, 4, 9, 11, 3, 3, 3, 1, 1, 1, 2, 0, 1, 1},    // causal 3×3×3
                     C{2, 4, 3, 50, 47, 1, 3, 3, 1, 1, 1, 0, 0, 1, 1},   // 2 blocks per frame
                     C{4, 3, 5, 10, 9, 3, 1, 1, 2, 1, 1, 0, 0, 0, 0},    // time stride 2
                     C{3, 6, 2, 12, 13, 1, 3, 3, 1, 2, 2, 0, 0, 0, 1},   // 2-D stride 2
                     C{2, 3, 3, 7, 6, 2, 2, 4, 1, 3, 2, 1, 1, 2, 3},     // kernel wider than pad
                     C{8, 16, 1, 40, 40, 1, 3, 3, 1, 1, 1, 0, 0, 1, 1},  // one task, GEMM threaded
                     C{2, 3, 2, 5, 3, 1, 3, 3, 1, 1, 1, 0, 0, 1, 4}}) {  // taps wholly in padding
    std::vector<float> single_threaded;
    for (const int threads : {1, 3}) {
      Exec ex(threads);
      const Tensor x = rnd({c.cin, c.T, c.H, c.W}, 7), b = rnd({c.cout}, 9);
      const Tensor w = rnd({c.cout, c.cin, c.kt, c.kh, c.kw}, 8).to(DType::kBF16);
      Conv3dParams p;
      p.stride_t = c.st;
      p.stride_h = c.sh;
      p.stride_w = c.sw;
      p.pad_t_front = c.pt_front;
      p.pad_t_back = c.pt_back;
      p.pad_top = p.pad_bottom = c.ph;
      p.pad_left = p.pad_right = c.pw;
      const Tensor y = conv3d(ex, x, w, &b, p);
      const Tensor wr = w.to(DType::kF32);
      const int64_t To = (c.T + c.pt_front + c.pt_back - c.kt) / c.st + 1,
                    Ho = (c.H + 2 * c.ph - c.kh) / c.sh + 1,
                    Wo = (c.W + 2 * c.pw - c.kw) / c.sw + 1;
      ASSERT_EQ(y.shape(), (Shape{c.cout, To, Ho, Wo}));
      const auto got = y.to_vector();
      // Threads split positions or GEMM tiles, never a sum: the same bits either way.
      if (threads == 1)
        single_threaded = got;
      else
        EXPECT_EQ(got, single_threaded) << "case cin " << c.cin << ": threads change the result";
      for (int64_t co = 0; co < c.cout; ++co)
        for (int64_t to = 0; to < To; ++to)
          for (int64_t ho = 0; ho < Ho; ++ho)
            for (int64_t wo = 0; wo < Wo; ++wo) {
              double ref = b.item_f32({co});
              for (int64_t ci = 0; ci < c.cin; ++ci)
                for (int64_t a = 0; a < c.kt; ++a)
                  for (int64_t bh = 0; bh < c.kh; ++bh)
                    for (int64_t bw = 0; bw < c.kw; ++bw) {
                      const int64_t ti = to * c.st + a - c.pt_front, hi = ho * c.sh + bh - c.ph,
                                    wi = wo * c.sw + bw - c.pw;
                      if (ti < 0 || ti >= c.T || hi < 0 || hi >= c.H || wi < 0 || wi >= c.W)
                        continue;
                      ref +=
                          double(wr.item_f32({co, ci, a, bh, bw})) * x.item_f32({ci, ti, hi, wi});
                    }
              const float v = got[((co * To + to) * Ho + ho) * Wo + wo];
              ASSERT_NEAR(v, ref, 1e-5 * std::fabs(ref) + 1e-5)
                  << "case cin " << c.cin << " threads " << threads << " at " << co << "," << to
                  << "," << ho << "," << wo;
            }
    }
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
