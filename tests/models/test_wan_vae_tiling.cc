// Spatially tiled video VAE decoding: equal to a plain restatement of diffusers' tiled_decode
// (each tile decoded on its own, blended linearly over the overlap, top-left stride kept), and
// its difference from untiled decoding measured and bounded.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "models/checkpoint.h"
#include "models/tiny_checkpoint.h"
#include "models/wan_vae.h"
#include "pipeline/noise.h"
#include "runtime/ops/concat.h"
#include "test_util.h"

namespace mova {
namespace {

// out[c, t, y, x] of a [1, 3, T, H, W] tensor.
float& at(Tensor& t, int64_t c, int64_t f, int64_t y, int64_t x) {
  return t.data<float>()[((c * t.size(2) + f) * t.size(3) + y) * t.size(4) + x];
}

class WanVaeTiling : public ::testing::Test {
 protected:
  void SetUp() override { write_tiny_checkpoint(dir.file("m"), {}); }
  test::TempDir dir;
};

TEST_F(WanVaeTiling, MatchesDiffusersTiledDecodeRestated) {
  const Checkpoint ck = Checkpoint::open(dir.file("m"));
  const WanVae vae(ck.video_vae_config(), ck.weights(Component::kVideoVae));
  Exec ex(2);
  const int64_t T = 3, h = 13, w = 17;  // tiles do not divide the frame
  const Tensor z = seeded_noise({1, 16, T, h, w}, 5, 0);
  const VaeTiling tiling{8, 6};  // 64-pixel tiles every 48 pixels, 16-pixel overlap

  std::vector<Tensor> chunks;
  vae.decode(
      ex, z, [&](const Tensor& c) { chunks.push_back(c); }, &tiling);
  const Tensor tiled = concat(chunks, 1).unsqueeze(0);
  const Tensor plain = vae.decode(ex, z);
  ASSERT_EQ(tiled.shape(), plain.shape());

  // The restatement: decode each tile over the whole clip, then blend and crop.
  const int64_t s = 8, blend = (8 - 6) * s, step = 6 * s;
  std::vector<std::vector<Tensor>> tiles;
  for (int64_t r = 0; r < h; r += 6) {
    tiles.emplace_back();
    for (int64_t c = 0; c < w; c += 6) {
      const Tensor part =
          z.narrow(3, r, std::min<int64_t>(8, h - r)).narrow(4, c, std::min<int64_t>(8, w - c));
      tiles.back().push_back(vae.decode(ex, part.contiguous()).clone());
    }
  }
  Tensor want = Tensor::zeros(plain.shape(), DType::kF32);
  const int64_t F = plain.size(2);
  for (size_t i = 0; i < tiles.size(); ++i)
    for (size_t j = 0; j < tiles[i].size(); ++j) {
      Tensor& b = tiles[i][j];
      const int64_t bh = b.size(3), bw = b.size(4);
      if (i > 0) {
        Tensor& a = tiles[i - 1][j];
        const int64_t ext = std::min({a.size(3), bh, blend});
        for (int64_t c = 0; c < 3; ++c)
          for (int64_t f = 0; f < F; ++f)
            for (int64_t y = 0; y < ext; ++y)
              for (int64_t x = 0; x < bw; ++x)
                at(b, c, f, y, x) = at(a, c, f, a.size(3) - ext + y, x) * (1 - float(y) / ext) +
                                    at(b, c, f, y, x) * (float(y) / ext);
      }
      if (j > 0) {
        Tensor& a = tiles[i][j - 1];
        const int64_t ext = std::min({a.size(4), bw, blend});
        for (int64_t c = 0; c < 3; ++c)
          for (int64_t f = 0; f < F; ++f)
            for (int64_t y = 0; y < bh; ++y)
              for (int64_t x = 0; x < ext; ++x)
                at(b, c, f, y, x) = at(a, c, f, y, a.size(4) - ext + x) * (1 - float(x) / ext) +
                                    at(b, c, f, y, x) * (float(x) / ext);
      }
      for (int64_t c = 0; c < 3; ++c)
        for (int64_t f = 0; f < F; ++f)
          for (int64_t y = 0; y < std::min(step, bh); ++y)
            for (int64_t x = 0; x < std::min(step, bw); ++x)
              at(want, c, f, int64_t(i) * step + y, int64_t(j) * step + x) = at(b, c, f, y, x);
    }
  EXPECT_LE(test::max_rel_error(tiled, want), 1e-6);

  // Against untiled decoding: random weights make every pixel depend on its whole receptive
  // field, so the seams differ; the measured figure goes to docs/benchmarks.md.
  double max_abs = 0, sum_abs = 0;
  const auto a = tiled.to_vector(), b = plain.to_vector();
  for (size_t i = 0; i < a.size(); ++i) {
    max_abs = std::max(max_abs, std::fabs(double(a[i]) - b[i]));
    sum_abs += std::fabs(double(a[i]) - b[i]);
  }
  std::printf(
      "[ measure  ] tiled vs untiled decode (tile 8, stride 6, %lldx%lld latents): max abs "
      "%.3g, mean abs %.3g (outputs in [-1, 1])\n",
      static_cast<long long>(h), static_cast<long long>(w), max_abs,
      sum_abs / static_cast<double>(a.size()));
  EXPECT_GT(max_abs, 0.0);  // tiling really happened
}

TEST_F(WanVaeTiling, OneTileIsExactlyUntiled) {
  const Checkpoint ck = Checkpoint::open(dir.file("m"));
  const WanVae vae(ck.video_vae_config(), ck.weights(Component::kVideoVae));
  Exec ex(2);
  const Tensor z = seeded_noise({1, 16, 2, 6, 7}, 9, 0);
  const VaeTiling tiling{8, 6};
  std::vector<Tensor> chunks;
  vae.decode(
      ex, z, [&](const Tensor& c) { chunks.push_back(c); }, &tiling);
  EXPECT_EQ(test::max_rel_error(concat(chunks, 1).unsqueeze(0), vae.decode(ex, z)), 0.0);
  const VaeTiling bad{4, 6};
  test::expect_error(
      [&] {
        vae.decode(
            ex, z, [](const Tensor&) {}, &bad);
      },
      {"stride <= tile"});
}

}  // namespace
}  // namespace mova
