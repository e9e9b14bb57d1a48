// What is made once and reused across passes must change no value. The text side prepared
// once per prompt and expert (WanDit::Text, JointDenoiser::Text): passes that reuse kept
// cross-attention keys and values equal, bit for bit, passes that project them from the
// embedded context themselves. The RoPE tables kept per shape (LastValueCache): a denoiser
// asked for other sizes gives what a fresh one gives. (The values themselves are checked
// against float64 PyTorch in test_wan_dit_reference.cc and test_joint_reference.cc.)
#include <gtest/gtest.h>

#include "models/checkpoint.h"
#include "models/tiny_checkpoint.h"
#include "models/wan_dit.h"
#include "pipeline/joint_denoiser.h"
#include "runtime/last_value_cache.h"
#include "test_util.h"

namespace mova {
namespace {

struct Tiny {
  test::TempDir dir;
  Checkpoint ckpt = (write_tiny_checkpoint(dir.file("m"), {}), Checkpoint::open(dir.file("m")));
};

Tensor text_context() {
  return Tensor::from_vector({1, 5, 48}, test::random_vector(240, 8));
}

TEST(TextReuse, KeptKeysAndValuesGiveTheSameDitPass) {
  const Tiny tiny;
  Exec ex(2);
  const WanDit dit(tiny.ckpt.video_dit_config(Component::kVideoDit),
                   tiny.ckpt.weights(Component::kVideoDit));
  const WanDitConfig& c = dit.config();
  const Tensor context = text_context();
  const auto kv_bytes = static_cast<uint64_t>(2 * c.num_layers * 5 * c.dim) * sizeof(float);

  const auto per_pass = dit.prepare_text(ex, context, kv_bytes - 1);
  const auto kept = dit.prepare_text(ex, context, kv_bytes);
  EXPECT_TRUE(per_pass->k.empty());
  ASSERT_EQ(kept->k.size(), static_cast<size_t>(c.num_layers));
  ASSERT_EQ(kept->v.size(), static_cast<size_t>(c.num_layers));
  EXPECT_EQ(kept->context.to_vector(), per_pass->context.to_vector());

  // Two passes at different noise levels over the same kept text: the first must not alter it.
  for (float t : {900.0f, 300.0f}) {
    const Tensor x = Tensor::from_vector(
        {1, 36, 2, 4, 4}, test::random_vector(36 * 32, static_cast<uint32_t>(t), -2, 2));
    auto run = [&](std::shared_ptr<const WanDit::Text> text) {
      WanDit::State s = dit.begin(ex, x, t, std::move(text));
      for (int64_t i = 0; i < c.num_layers; ++i) dit.block(ex, i, s);
      return dit.end(ex, s).to_vector();
    };
    const auto want = dit.forward(ex, x, t, context).to_vector();
    EXPECT_EQ(run(per_pass), want) << "t " << t;
    EXPECT_EQ(run(kept), want) << "t " << t;
  }
}

TEST(TextReuse, PreparedTextGivesTheSameJointSteps) {
  const Tiny tiny;
  Exec ex(2);
  const JointDenoiser denoiser(tiny.ckpt);
  const Tensor context = text_context();
  const Tensor cond = Tensor::from_vector({1, 20, 2, 4, 4}, test::random_vector(640, 6));
  for (int expert : {1, 2}) {
    const JointDenoiser::Text text = denoiser.prepare_text(ex, expert, context);
    EXPECT_EQ(text.expert, expert);
    EXPECT_FALSE(text.video->k.empty());  // the tiny model's are far under the budget
    EXPECT_FALSE(text.audio->k.empty());
    for (int step = 0; step < 2; ++step) {
      const Tensor video =
          Tensor::from_vector({1, 16, 2, 4, 4}, test::random_vector(512, 10 + step, -2, 2));
      const Tensor audio =
          Tensor::from_vector({1, 8, 9}, test::random_vector(72, 20 + step, -2, 2));
      const float t = step == 0 ? 950.0f : 400.0f;
      const Velocities want =
          denoiser.step(ex, expert, video, cond, audio, context, t, t - 30.0f, 24.0);
      const Velocities got = denoiser.step(ex, text, video, cond, audio, t, t - 30.0f, 24.0);
      EXPECT_EQ(got.video.to_vector(), want.video.to_vector()) << "expert " << expert;
      EXPECT_EQ(got.audio.to_vector(), want.audio.to_vector()) << "expert " << expert;
    }
  }
  test::expect_error(
      [&] {
        denoiser.step(ex, JointDenoiser::Text{}, Tensor(), Tensor(), Tensor(), 1.0f, 1.0f, 24.0);
      },
      {"denoiser step without prepared text"});
}

TEST(RopeReuse, LastValueCacheMakesOncePerKeyAndFollowsAChange) {
  const LastValueCache<int, int> cache;
  int made = 0;
  auto make = [&](int v) {
    return [&made, v] {
      ++made;
      return v;
    };
  };
  EXPECT_EQ(cache.get(1, make(10)), 10);
  EXPECT_EQ(cache.get(1, make(99)), 10);  // kept: not made again
  EXPECT_EQ(made, 1);
  EXPECT_EQ(cache.get(2, make(20)), 20);
  EXPECT_EQ(cache.get(1, make(11)), 11);
  EXPECT_EQ(made, 3);
  const LastValueCache<int, int> shared = cache;  // copies share it
  EXPECT_EQ(shared.get(1, make(99)), 11);
  EXPECT_EQ(made, 3);
}

// One denoiser through sizes A, B, A (other video grid, audio length, frame rate), then A's
// shapes at another frame rate (the bridge's video positions move, no shape does), against a
// fresh denoiser for each: the kept RoPE tables follow what each pass asks for.
TEST(RopeReuse, KeptTablesFollowTheSizesOfEachPass) {
  const Tiny tiny;
  Exec ex(2);
  const JointDenoiser kept(tiny.ckpt);
  const Tensor context = text_context();
  struct Sizes {
    int64_t frames, side, audio;
    double fps;
  };
  const Sizes a{2, 4, 9, 24.0}, b{3, 6, 13, 30.0}, c{2, 4, 9, 12.0};
  for (const Sizes& z : {a, b, a, c}) {
    const int64_t n = z.frames * z.side * z.side;
    const Tensor video = Tensor::from_vector({1, 16, z.frames, z.side, z.side},
                                             test::random_vector(16 * n, 31, -2, 2));
    const Tensor cond =
        Tensor::from_vector({1, 20, z.frames, z.side, z.side}, test::random_vector(20 * n, 32));
    const Tensor audio =
        Tensor::from_vector({1, 8, z.audio}, test::random_vector(8 * z.audio, 33, -2, 2));
    const Velocities got = kept.step(ex, 1, video, cond, audio, context, 800.0f, 700.0f, z.fps);
    const Velocities want =
        JointDenoiser(tiny.ckpt).step(ex, 1, video, cond, audio, context, 800.0f, 700.0f, z.fps);
    EXPECT_EQ(got.video.to_vector(), want.video.to_vector())
        << "frames " << z.frames << ", fps " << z.fps;
    EXPECT_EQ(got.audio.to_vector(), want.audio.to_vector())
        << "frames " << z.frames << ", fps " << z.fps;
  }
}

}  // namespace
}  // namespace mova
