// Upstream's noise, torch.randn on CUDA after torch.manual_seed (pipeline/torch_randn.h):
// Philox4x32-10 against Random123's known-answer vectors, the values PyTorch prints for
// seed 42, the generator offset torch's launch arithmetic gives, and the grid-stride element
// order against a per-element restatement. tests/pipeline/test_torch_randn_curand.cc checks
// the stream against cuRAND's own code where the CUDA toolkit's headers are installed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>

#include "pipeline/noise.h"
#include "pipeline/torch_randn.h"
#include "runtime/error.h"
#include "runtime/philox.h"

namespace mova {
namespace {

TEST(Philox, KnownAnswerVectors) {
  // Random123's kat_vectors for philox4x32 with 10 rounds.
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (PhiloxWords{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(
      philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}),
      (PhiloxWords{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(
      philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}),
      (PhiloxWords{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(Philox, StreamLayout) {
  // Subsequence: the counter's high half; offset: words, four per counter step.
  const uint64_t seed = 0x123456789abcdefull;
  const std::array<uint32_t, 2> key = {0x89abcdef, 0x01234567};
  PhiloxStream s(seed, 5, 8);
  EXPECT_EQ(s.next4(), philox4x32_10({2, 0, 5, 0}, key));
  EXPECT_EQ(s.next4(), philox4x32_10({3, 0, 5, 0}, key));
  PhiloxStream inside(seed, 0, 6);  // starts at the third word of block 1
  const PhiloxWords b1 = philox4x32_10({1, 0, 0, 0}, key);
  const PhiloxWords b2 = philox4x32_10({2, 0, 0, 0}, key);
  EXPECT_EQ(inside.next4(), (PhiloxWords{b1[2], b1[3], b2[0], b2[1]}));
  PhiloxStream carry(seed, 0xffffffffull, 0xffffffffull * 4);  // both halves carry
  EXPECT_EQ(carry.next4(), philox4x32_10({0xffffffff, 0, 0xffffffff, 0}, key));
  EXPECT_EQ(carry.next4(), philox4x32_10({0, 1, 0xffffffff, 0}, key));
}

TEST(TorchRandn, Seed42MatchesPyTorch) {
  // torch.manual_seed(42); torch.randn(10, device="cuda"), as PyTorch prints it (4 decimals).
  const float printed[10] = {0.1940f, 2.1614f,  -0.1721f, 0.8491f, -1.9244f,
                             0.6530f, -0.6494f, -0.8175f, 0.5280f, -1.2753f};
  TorchCudaRandn torch(42, TorchCudaGpu{});
  const Tensor t = torch.randn({10});
  for (int i = 0; i < 10; ++i) EXPECT_NEAR(t.data<float>()[i], printed[i], 5.01e-5f) << i;
}

// torch's calc_execution_policy: the offset grows by 4 per curand_normal4 call of a thread.
TEST(TorchRandn, OffsetAdvancesAsPyTorchsGenerator) {
  struct Case {
    int64_t numel;
    uint64_t increment;
  };
  const int64_t resident = 132 * 2048;  // H100/H200 threads
  const Case cases[] = {{1, 4},
                        {10, 4},
                        {resident * 4, 4},
                        {resident * 4 + 1, 8},
                        {1 * 16 * 49 * 45 * 80, 12},  // 360p, 193 frames: the video latent
                        {1 * 128 * 403, 4}};          // its audio latent
  for (const Case& c : cases) {
    TorchCudaRandn torch(0, TorchCudaGpu{});
    torch.randn({c.numel});
    EXPECT_EQ(torch.philox_offset(), c.increment) << c.numel;
  }
  TorchCudaRandn torch(0, TorchCudaGpu{});
  torch.randn({0});
  EXPECT_EQ(torch.philox_offset(), 0u);  // torch launches nothing for an empty tensor
}

// The element e of a call that starts at `offset`: round r = e / (threads * 4); within it the
// i-th normal of thread idx lands at idx + i * threads.
float element_by_hand(uint64_t seed, uint64_t offset, int64_t threads, int64_t e) {
  const int64_t round = e / (threads * 4), rem = e % (threads * 4);
  const int64_t i = rem / threads, idx = rem % threads;
  PhiloxStream s(seed, static_cast<uint64_t>(idx), offset + static_cast<uint64_t>(round) * 4);
  const PhiloxWords w = s.next4();
  const uint32_t x = w[static_cast<size_t>(i / 2 * 2)], y = w[static_cast<size_t>(i / 2 * 2 + 1)];
  const double u = static_cast<double>(static_cast<float>(x)) * 0x1p-32 + 0x1p-33;
  const double v = (static_cast<double>(static_cast<float>(y)) + 0.5) * (0x1p-32 * 6.2831855);
  const double r = std::sqrt(-2.0 * std::log(u));
  return static_cast<float>(i % 2 == 0 ? r * std::sin(v) : r * std::cos(v));
}

TEST(TorchRandn, GridStrideOrderOnASmallGpu) {
  // 2 SMs x 512 threads: 1024 threads, 4096 normals per round, so these shapes take several
  // rounds and end inside one; the second call starts at the offset the first left.
  const TorchCudaGpu gpu{2, 512};
  TorchCudaRandn torch(1234, gpu);
  const Tensor a = torch.randn({3, 3001});  // 9003: 3 rounds
  const uint64_t offset_b = torch.philox_offset();
  EXPECT_EQ(offset_b, 12u);
  const Tensor b = torch.randn({700});  // 3 blocks of 256: 768 threads, 1 round
  EXPECT_EQ(torch.philox_offset(), 16u);
  double worst = 0;
  for (int64_t e = 0; e < a.numel(); ++e)
    worst =
        std::max(worst, std::abs(double{a.data<float>()[e]} - element_by_hand(1234, 0, 1024, e)));
  for (int64_t e = 0; e < b.numel(); ++e)
    worst = std::max(
        worst, std::abs(double{b.data<float>()[e]} - element_by_hand(1234, offset_b, 768, e)));
  // Float u, v and products against double ones: a few float steps at |x| ~ 6.
  EXPECT_LT(worst, 5e-6);
  std::printf("largest difference from the per-element restatement: %.3g\n", worst);
}

TEST(TorchRandn, GpuOnlyMattersPastItsResidentThreads) {
  const Tensor h100 = TorchCudaRandn(7, TorchCudaGpu{132, 2048}).randn({270336});
  const Tensor a100 = TorchCudaRandn(7, TorchCudaGpu{108, 2048}).randn({270336});
  const Tensor same = TorchCudaRandn(7, TorchCudaGpu{108, 2048}).randn({221184});
  int64_t differing = 0;
  for (int64_t e = 0; e < 270336; ++e) differing += h100.data<float>()[e] != a100.data<float>()[e];
  EXPECT_GT(differing, 0);  // 270,336 > 108 x 2048: the A100 loops, the H100 does not
  for (int64_t e = 0; e < 221184; ++e) ASSERT_EQ(h100.data<float>()[e], same.data<float>()[e]);
}

TEST(NoiseRng, ParsesAndNamesEveryForm) {
  EXPECT_EQ(noise_rng_name(parse_noise_rng("torch-cuda", "--rng")), "torch-cuda:132:2048");
  EXPECT_EQ(noise_rng_name(parse_noise_rng("torch-cuda:108", "--rng")), "torch-cuda:108:2048");
  EXPECT_EQ(noise_rng_name(parse_noise_rng("torch-cuda:128:1536", "--rng")), "torch-cuda:128:1536");
  EXPECT_EQ(noise_rng_name(parse_noise_rng("mova", "--rng")), "mova");
  EXPECT_EQ(noise_rng_name(NoiseRng{}), "torch-cuda:132:2048");  // the default
  for (const char* bad : {"", "torch", "torch-cuda:", "torch-cuda:0", "torch-cuda:12x",
                          "torch-cuda:132:100", "torch-cuda:132:2048:1", "cuda", "MOVA"}) {
    try {
      parse_noise_rng(bad, "--rng");
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("--rng"), std::string::npos) << e.what();
    }
  }
}

TEST(NoiseRng, InitialNoiseDrawsVideoThenAudio) {
  const NoiseRng rng;
  const NoisePair n = initial_noise(rng, 5, {1, 4, 2, 3, 3}, {1, 8, 6});
  TorchCudaRandn torch(5, rng.gpu);
  const Tensor video = torch.randn({1, 4, 2, 3, 3});
  const Tensor audio = torch.randn({1, 8, 6});
  for (int64_t e = 0; e < video.numel(); ++e)
    ASSERT_EQ(n.video.data<float>()[e], video.data<float>()[e]);
  for (int64_t e = 0; e < audio.numel(); ++e)
    ASSERT_EQ(n.audio.data<float>()[e], audio.data<float>()[e]);
  EXPECT_NE(n.audio.data<float>()[0], video.data<float>()[0]);  // offset 4: not a repeat
  const NoisePair own = initial_noise(parse_noise_rng("mova", "rng"), 5, {3}, {2});
  EXPECT_EQ(own.video.data<float>()[1], seeded_noise({3}, 5, 0).data<float>()[1]);
}

}  // namespace
}  // namespace mova
