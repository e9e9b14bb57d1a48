// cuDNN's fused attention (runtime/cuda/cudnn_attention.h) against the CPU op on the same
// BF16-rounded inputs, with the BF16 attention budget of test_cuda_attention.cc (max-rel 1e-2,
// cosine > 0.9999): both head sizes, partial tiles, batches, a non-default scale, and k and v
// read out of one fused [B, Lk, 2, H, D] projection (strides other than contiguous). On a GPU
// without cuDNN these skip, saying what the loader found; on the CUDA emulator they run its
// cuDNN (tests/cuda_emulator/cudnn.cc).
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "attention_problem.h"
#include "cuda/cuda_test_util.h"
#include "runtime/cuda/cudnn_attention.h"
#include "runtime/cuda/cudnn_library.h"
#include "runtime/log.h"

namespace mova {
namespace {

using test::AttentionProblem;

AttentionProblem problem(int64_t B, int64_t Lq, int64_t Lk, int64_t H, int64_t D) {
  AttentionProblem p;
  p.B = B, p.Lq = Lq, p.Lk = Lk, p.H = H, p.D = D;
  return p;
}

// Device operands for `c` (inputs rounded to BF16 in place, so c.cpu() sees them): q
// contiguous; k and v contiguous, or interleaved in one [B, Lk, 2, H, D] buffer.
struct Operands {
  cuda::AttentionArgs args;
  size_t out_elements = 0;
};

Operands upload(AttentionProblem& c, test::DeviceScratch& d, bool fused_kv, float scale) {
  const auto q_bits = test::round_to_bf16(c.q_fused);
  const auto k_bits = test::round_to_bf16(c.k), v_bits = test::round_to_bf16(c.v);
  Operands o;
  cuda::AttentionArgs& a = o.args;
  a.q = d.upload(c.contiguous_q(q_bits));
  a.q_strides = {c.Lq * c.H * c.D, c.H * c.D, c.D};
  if (fused_kv) {
    std::vector<uint16_t> kv;
    for (int64_t row = 0; row < c.B * c.Lk; ++row) {
      kv.insert(kv.end(), k_bits.begin() + row * c.H * c.D, k_bits.begin() + (row + 1) * c.H * c.D);
      kv.insert(kv.end(), v_bits.begin() + row * c.H * c.D, v_bits.begin() + (row + 1) * c.H * c.D);
    }
    const auto* base = static_cast<const uint16_t*>(d.upload(kv));
    a.k = base;
    a.v = base + c.H * c.D;
    a.k_strides = a.v_strides = {c.Lk * 2 * c.H * c.D, 2 * c.H * c.D, c.D};
  } else {
    a.k = d.upload(k_bits);
    a.v = d.upload(v_bits);
    a.k_strides = a.v_strides = {c.kv_stride(0), c.kv_stride(1), c.kv_stride(2)};
  }
  o.out_elements = static_cast<size_t>(c.B * c.Lq * c.H * c.D);
  a.out = d.zeros(o.out_elements * 2);
  a.dtype = DType::kBF16;
  a.batch = c.B, a.q_len = c.Lq, a.kv_len = c.Lk, a.heads = c.H, a.head_dim = c.D;
  a.scale = scale;
  return o;
}

TEST(CudnnAttention, MatchesCpuOnTheSameRoundedInputs) {
  MOVA_REQUIRE_GPU();  // before the CudnnAttention, which needs a device
  cuda::CudnnAttention attention(0);
  if (!attention.available())
    GTEST_SKIP() << "cuDNN: " << cuda::cudnn_description()
                 << " (set LD_LIBRARY_PATH or MOVA_CUDNN to its libcudnn.so.9)";
  const AttentionProblem cases[] = {problem(1, 1, 9, 1, 64), problem(2, 37, 45, 3, 64),
                                    problem(1, 100, 77, 2, 128), problem(2, 16, 32, 2, 128),
                                    problem(1, 250, 513, 1, 128)};
  uint32_t seed = 70;
  for (AttentionProblem c : cases)
    for (const bool fused_kv : {false, true})
      for (const float scale : {0.0f, 0.3f}) {
        c.fill(seed += 10);
        test::DeviceScratch d;
        const Operands o = upload(c, d, fused_kv, scale);
        std::string what = c.name();
        if (fused_kv) what += " fused kv";
        if (scale != 0.0f) what += " scale 0.3";
        ASSERT_TRUE(cuda::CudnnAttention::takes(o.args)) << what;
        ASSERT_TRUE(attention.run(o.args)) << what << ": cuDNN declined (see the log)";
        const auto got = test::from_bf16(d.download<uint16_t>(o.args.out, o.out_elements));
        const auto ref = c.cpu(scale);
        EXPECT_LE(test::max_rel_error(got, ref), 1e-2) << what;
        EXPECT_GT(test::cosine(got, ref), 0.9999) << what;
      }
  EXPECT_EQ(attention.cached_plans(), 10u) << "one plan per shape and layout, reused across scales";
}

#ifdef MOVA_CUDA_EMULATOR
// The emulator's cuDNN declining a shape, or failing to run it: run() returns false having
// enqueued nothing (the caller's kernel runs it), and a failed shape is not tried again.
TEST(CudnnAttention, DeclinedOrFailingShapesReturnFalse) {
  AttentionProblem c = problem(1, 20, 30, 2, 64);
  for (const char* how : {"decline", "filter", "prerequisite", "fail-execute"}) {
    cuda::CudnnAttention attention(0);
    ASSERT_TRUE(attention.available());
    c.fill(40);
    test::DeviceScratch d;
    const Operands o = upload(c, d, false, 0.0f);
    setenv("MOVA_CUDA_EMULATOR_CUDNN", how, 1);
    EXPECT_FALSE(attention.run(o.args)) << how;
    unsetenv("MOVA_CUDA_EMULATOR_CUDNN");
    EXPECT_FALSE(attention.run(o.args)) << how << ": the shape is remembered";
    EXPECT_EQ(attention.cached_plans(), 1u) << how;
  }
  cuda::CudnnAttention fresh(0);  // and without the knob, the same shape runs
  c.fill(41);
  test::DeviceScratch d;
  EXPECT_TRUE(fresh.run(upload(c, d, false, 0.0f).args));
}

// A shape cuDNN declines is logged at info level: the own kernel runs it, nothing is wrong, and
// other shapes still go to cuDNN. A library that cannot run any engine here (no libcuda, no
// NVRTC: the heuristic returns none of what it counted, or the plan names a missing
// prerequisite) would decline every shape: one warning, with cuDNN's own message, and cuDNN is
// not asked again.
TEST(CudnnAttention, MissingPrerequisitesAreWarningsWithCudnnsMessage) {
  struct Case {
    const char* how;
    LogLevel level;
    std::vector<std::string> words;
    bool other_shapes_run;
  };
  const Case cases[] = {
      {"decline", LogLevel::kInfo, {"has no fused attention", "it offered no engine"}, true},
      {"filter",
       LogLevel::kWarn,
       {"cannot run its engines here", "counted 1 engine", "returned none", "from now on"},
       false},
      {"prerequisite",
       LogLevel::kWarn,
       {"cannot run its engines here", "PREREQUISITE_MISSING", "run-time compiler is missing"},
       false}};
  AttentionProblem c = problem(1, 20, 30, 2, 64);
  const LogLevel was = log_level();
  for (const Case& tc : cases) {
    std::vector<std::pair<LogLevel, std::string>> logged;
    set_log_level(LogLevel::kInfo);
    set_log_sink([&](LogLevel level, const std::string& m) { logged.emplace_back(level, m); });
    cuda::CudnnAttention attention(0);
    c.fill(42);
    test::DeviceScratch d;
    const Operands o = upload(c, d, false, 0.0f);
    setenv("MOVA_CUDA_EMULATOR_CUDNN", tc.how, 1);
    EXPECT_FALSE(attention.run(o.args)) << tc.how;
    unsetenv("MOVA_CUDA_EMULATOR_CUDNN");
    AttentionProblem other = problem(1, 24, 40, 2, 64);  // without the knob
    other.fill(43);
    test::DeviceScratch d2;
    EXPECT_EQ(attention.run(upload(other, d2, false, 0.0f).args), tc.other_shapes_run) << tc.how;
    set_log_sink({});
    set_log_level(was);
    ASSERT_GE(logged.size(), 1u) << tc.how;  // the decline's second shape announces cuDNN
    EXPECT_EQ(logged.size(), tc.other_shapes_run ? 2u : 1u) << tc.how;
    EXPECT_EQ(logged[0].first, tc.level) << tc.how << ": " << logged[0].second;
    for (const std::string& w : tc.words)
      EXPECT_NE(logged[0].second.find(w), std::string::npos)
          << tc.how << ": no '" << w << "' in: " << logged[0].second;
  }
}
#endif

// What the backend leaves to its own kernels, decided before cuDNN is asked: no GPU needed.
TEST(CudnnAttention, TakesOnlyPlainAlignedBf16Problems) {
  cuda::AttentionArgs plain;
  alignas(16) static uint16_t buffer[4096];
  plain.q = plain.k = plain.v = buffer;
  plain.out = buffer;
  plain.q_strides = plain.k_strides = plain.v_strides = {8 * 2 * 64, 2 * 64, 64};
  plain.dtype = DType::kBF16;
  plain.batch = 1, plain.q_len = plain.kv_len = 8, plain.heads = 2, plain.head_dim = 64;
  EXPECT_TRUE(cuda::CudnnAttention::takes(plain));
  const float bias = 0.0f;
  const auto declined = [&](const char* why, auto change) {
    cuda::AttentionArgs a = plain;
    change(a);
    EXPECT_FALSE(cuda::CudnnAttention::takes(a)) << why;
  };
  declined("F32", [](cuda::AttentionArgs& a) { a.dtype = DType::kF32; });
  declined("a bias", [&](cuda::AttentionArgs& a) { a.bias = &bias; });
  declined("a key mask", [&](cuda::AttentionArgs& a) { a.key_mask = &bias; });
  declined("a forced kernel",
           [](cuda::AttentionArgs& a) { a.kernel = cuda::AttentionKernel::kTensorCores; });
  declined("head size 12", [](cuda::AttentionArgs& a) { a.head_dim = 12; });
  declined("head size 256", [](cuda::AttentionArgs& a) { a.head_dim = 256; });
  declined("q 2 bytes past alignment", [](cuda::AttentionArgs& a) { a.q = buffer + 1; });
  declined("k rows of 67 elements", [](cuda::AttentionArgs& a) { a.k_strides.pos = 67; });
  declined("v heads 4 elements apart", [](cuda::AttentionArgs& a) { a.v_strides.head = 68; });
  declined("out 2 bytes past alignment", [](cuda::AttentionArgs& a) { a.out = buffer + 1; });
  declined("no keys", [](cuda::AttentionArgs& a) { a.kv_len = 0; });
  declined("one query, one key", [](cuda::AttentionArgs& a) { a.q_len = a.kv_len = 1; });
}

}  // namespace
}  // namespace mova
