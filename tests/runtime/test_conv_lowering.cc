// The CUDA convolution lowering's index arithmetic (runtime/cuda/kernels/conv_lowering_index.h),
// run on the host: columns built with im2col_window and im2col_tap_source and multiplied by the
// weights, and the transposed conv's column gather, chunk by chunk as the CUDA backend does, must
// give the CPU convolutions' results (max-rel 1e-5). What stays unchecked without a GPU is the
// kernels' launch and the cuBLASLt calls (tests/cuda covers those).
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "runtime/cuda/kernels/conv_lowering_index.h"
#include "runtime/exec.h"
#include "runtime/ops/conv.h"
#include "test_util.h"

namespace mova {
namespace {

using cuda::Im2Col;
using cuda::TransposedGather;

// out [C_out, positions] = bias + W [C_out, K] · cols, the columns built `chunk` positions at
// a time (as the backend's lowering loop does).
std::vector<float> lowered(const Im2Col& a, const std::vector<float>& w,
                           const std::vector<float>& bias, int64_t c_out, int64_t chunk) {
  const int64_t K = a.c_in * a.kt * a.kh * a.kw, positions = a.out_t * a.out_h * a.out_w;
  std::vector<float> out(c_out * positions);
  for (int64_t first = 0; first < positions; first += chunk) {
    const int64_t n = std::min(chunk, positions - first);
    // As the kernel: each position's window once, then every channel's taps down the rows.
    std::vector<float> cols(K * n);
    for (int64_t j = 0; j < n; ++j) {
      const cuda::Im2ColWindow win = cuda::im2col_window(a, first + j);
      int64_t row = 0;
      for (int64_t ci = 0; ci < a.c_in; ++ci)
        for (int64_t ta = 0; ta < a.kt; ++ta)
          for (int64_t tb = 0; tb < a.kh; ++tb)
            for (int64_t tc = 0; tc < a.kw; ++tc, ++row) {
              const int64_t src = cuda::im2col_tap_source(a, win, ci, ta, tb, tc);
              cols[row * n + j] = src < 0 ? 0.0f : a.x[src];
            }
    }
    for (int64_t co = 0; co < c_out; ++co)
      for (int64_t j = 0; j < n; ++j) {
        double s = bias[co];
        for (int64_t k = 0; k < K; ++k) s += double(w[co * K + k]) * cols[k * n + j];
        out[co * positions + first + j] = static_cast<float>(s);
      }
  }
  return out;
}

TEST(ConvLowering, Im2ColGivesConv3d) {
  Exec ex(1);
  const std::vector<float> xv = test::random_vector(6 * 5 * 9 * 11, 1);
  const std::vector<float> wv = test::random_vector(7 * 6 * 27, 2, -0.3f, 0.3f);
  const std::vector<float> bv = test::random_vector(7, 3);
  const Tensor x = Tensor::from_vector({6, 5, 9, 11}, xv);
  const Tensor w = Tensor::from_vector({7, 6, 3, 3, 3}, wv), b = Tensor::from_vector({7}, bv);
  struct Case {
    Conv3dParams p;
    int64_t chunk;
  };
  std::vector<Case> cases(3);
  cases[0].p.pad_t_front = 2;  // the causal VAE conv
  cases[0].p.pad_top = cases[0].p.pad_bottom = cases[0].p.pad_left = cases[0].p.pad_right = 1;
  cases[0].chunk = 64;
  cases[1].p.stride_h = cases[1].p.stride_w = 2;  // the VAE downsampler
  cases[1].p.pad_bottom = cases[1].p.pad_right = 1;
  cases[1].chunk = 7;
  cases[2].p.stride_t = 2;
  cases[2].chunk = 1000;
  for (const Case& c : cases) {
    const Tensor want = conv3d(ex, x, w, &b, c.p);
    Im2Col a;
    a.x = xv.data();
    a.c_in = 6, a.t = 5, a.h = 9, a.w = 11;
    a.kt = a.kh = a.kw = 3;
    a.stride_t = c.p.stride_t, a.stride_h = c.p.stride_h, a.stride_w = c.p.stride_w;
    a.pad_t = c.p.pad_t_front, a.pad_h = c.p.pad_top, a.pad_w = c.p.pad_left;
    a.out_t = want.size(1), a.out_h = want.size(2), a.out_w = want.size(3);
    EXPECT_LE(test::max_rel_error(lowered(a, wv, bv, 7, c.chunk), want.to_vector()), 1e-5)
        << "chunk " << c.chunk;
  }
}

TEST(ConvLowering, Im2ColGivesDilatedAndStridedConv1d) {
  Exec ex(1);
  const std::vector<float> xv = test::random_vector(5 * 300, 4);
  const std::vector<float> wv = test::random_vector(4 * 5 * 7, 5, -0.3f, 0.3f);
  const std::vector<float> bv = test::random_vector(4, 6);
  const Tensor x = Tensor::from_vector({5, 300}, xv);
  const Tensor w = Tensor::from_vector({4, 5, 7}, wv), b = Tensor::from_vector({4}, bv);
  for (const auto& [stride, padding, dilation] :
       std::vector<std::array<int64_t, 3>>{{1, 9, 3}, {4, 2, 1}, {2, 0, 2}}) {
    Conv1dParams p;
    p.stride = stride, p.padding = padding, p.dilation = dilation;
    const Tensor want = conv1d(ex, x, w, &b, p);
    Im2Col a;
    a.x = xv.data();
    a.c_in = 5, a.w = 300, a.kw = 7;
    a.stride_w = stride, a.pad_w = padding, a.dilation_w = dilation;
    a.out_w = want.size(1);
    EXPECT_LE(test::max_rel_error(lowered(a, wv, bv, 4, 64), want.to_vector()), 1e-5)
        << "stride " << stride << " dilation " << dilation;
  }
}

TEST(ConvLowering, ColumnGatherGivesConvTranspose1d) {
  Exec ex(1);
  const int64_t c_in = 5, c_out = 3, K = 8, L = 200;
  const std::vector<float> xv = test::random_vector(c_in * L, 7);
  const std::vector<float> wv = test::random_vector(c_in * c_out * K, 8, -0.3f, 0.3f);
  const std::vector<float> bv = test::random_vector(c_out, 9);
  const Tensor x = Tensor::from_vector({c_in, L}, xv);
  const Tensor w = Tensor::from_vector({c_in, c_out, K}, wv), b = Tensor::from_vector({c_out}, bv);
  for (const auto& [stride, padding, output_padding, chunk] :
       std::vector<std::array<int64_t, 4>>{{4, 2, 0, 64}, {5, 3, 1, 17}, {2, 1, 1, 1000}}) {
    Conv1dParams p;
    p.stride = stride, p.padding = padding, p.output_padding = output_padding;
    const Tensor want = conv_transpose1d(ex, x, w, &b, p);
    const int64_t out_len = want.size(1);
    std::vector<float> out(c_out * out_len);
    for (int64_t co = 0; co < c_out; ++co) std::fill_n(out.begin() + co * out_len, out_len, bv[co]);
    for (int64_t first = 0; first < L; first += chunk) {
      const int64_t n = std::min(chunk, L - first);
      std::vector<float> cols(c_out * K * n);  // Wᵀ · x for this chunk of input positions
      for (int64_t r = 0; r < c_out * K; ++r)
        for (int64_t j = 0; j < n; ++j) {
          double s = 0;
          for (int64_t ci = 0; ci < c_in; ++ci)
            s += double(wv[ci * c_out * K + r]) * xv[ci * L + first + j];
          cols[r * n + j] = static_cast<float>(s);
        }
      TransposedGather g;
      g.cols = cols.data();
      g.c_out = c_out, g.k = K, g.out_len = out_len;
      g.stride = stride, g.padding = padding;
      int64_t begin = 0, end = 0;
      cuda::transposed_gather_range(g, first, n, &begin, &end);
      for (int64_t co = 0; co < c_out; ++co)
        for (int64_t o = begin; o < end; ++o)
          out[co * out_len + o] += cuda::transposed_gather_sum(g, first, n, co, o);
    }
    EXPECT_LE(test::max_rel_error(out, want.to_vector()), 1e-5)
        << "stride " << stride << " chunk " << chunk;
  }
}

}  // namespace
}  // namespace mova
