// cuBLASLt GEMM against the CPU GEMM (runtime/cpu/gemm.h), the engine's reference path.
// Tolerances: F32 inputs (strict F32 compute, no TF32) max-rel 1e-5, as the CPU kernels'
// own tests; BF16 inputs/outputs are compared with the CPU GEMM run on the same
// BF16-rounded inputs: max-rel 1e-2 (one BF16 rounding of the output) and cosine > 0.9999.
#include <cmath>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "runtime/cpu/gemm.h"
#include "runtime/cuda/blas.h"
#include "runtime/dtype.h"
#include "test_util.h"

namespace mova {
namespace {

struct Case {
  int64_t m, n, k;
  bool trans_a, trans_b, bias, accumulate;
};

std::vector<float> cpu_gemm(const Case& c, const std::vector<float>& a, const std::vector<float>& b,
                            const std::vector<float>& bias, std::vector<float> out) {
  cpu::GemmProblem p;
  p.m = c.m, p.n = c.n, p.k = c.k;
  p.a = a.data(), p.lda = c.trans_a ? c.m : c.k, p.trans_a = c.trans_a;
  p.b = b.data(), p.ldb = c.trans_b ? c.k : c.n, p.trans_b = c.trans_b;
  p.c = out.data(), p.ldc = c.n;
  p.bias = c.bias ? bias.data() : nullptr;
  p.accumulate = c.accumulate;
  cpu::gemm(p, nullptr);
  return out;
}

const Case kCases[] = {
    {1, 1, 1, false, false, false, false},    {7, 13, 29, false, true, true, false},
    {64, 96, 128, false, true, false, false}, {33, 65, 257, true, false, true, true},
    {128, 48, 80, true, true, false, true},   {300, 256, 256, false, true, true, false},
};

// The case's GEMM over already uploaded operands (F32 or BF16, as their dtype says).
// The bias is in C's dtype (blas.h).
cuda::DeviceGemm device_gemm(const Case& c, const void* a, const void* b, void* c0,
                             const void* bias, DType dtype) {
  cuda::DeviceGemm g;
  g.m = c.m, g.n = c.n, g.k = c.k;
  g.ab_dtype = g.c_dtype = dtype;
  g.a = a, g.lda = c.trans_a ? c.m : c.k, g.trans_a = c.trans_a;
  g.b = b, g.ldb = c.trans_b ? c.k : c.n, g.trans_b = c.trans_b;
  g.c = c0, g.ldc = c.n;
  g.bias = c.bias ? bias : nullptr;
  g.accumulate = c.accumulate;
  return g;
}

// Runs case `c` in F32 on fresh random operands (seeds from `seed` on) and returns the
// max-rel error against the CPU GEMM.
double f32_case_error(cuda::Blas& blas, const Case& c, uint32_t& seed) {
  const auto a = test::random_vector(c.m * c.k, seed++), b = test::random_vector(c.k * c.n, seed++);
  const auto bias = test::random_vector(c.n, seed++), c0 = test::random_vector(c.m * c.n, seed++);
  test::DeviceScratch d;
  const cuda::DeviceGemm g =
      device_gemm(c, d.upload(a), d.upload(b), d.upload(c0), d.upload(bias), DType::kF32);
  blas.gemm(g);
  return test::max_rel_error(d.download<float>(g.c, c.m * c.n), cpu_gemm(c, a, b, bias, c0));
}

TEST(CudaBlas, F32MatchesTheCpuGemm) {
  MOVA_REQUIRE_GPU();
  cuda::Blas blas(0);
  uint32_t seed = 1;
  for (const Case& c : kCases) {
    EXPECT_LE(f32_case_error(blas, c, seed), 1e-5) << c.m << "x" << c.n << "x" << c.k;
  }
}

TEST(CudaBlas, Bf16MatchesTheCpuGemmOnTheSameRoundedInputs) {
  MOVA_REQUIRE_GPU();
  cuda::Blas blas(0);
  uint32_t seed = 100;
  for (const Case& c : kCases) {
    auto a = test::random_vector(c.m * c.k, seed++), b = test::random_vector(c.k * c.n, seed++);
    auto bias = test::random_vector(c.n, seed++);
    auto c0 = test::random_vector(c.m * c.n, seed++);
    const auto a_bits = test::round_to_bf16(a), b_bits = test::round_to_bf16(b),
               c0_bits = test::round_to_bf16(c0), bias_bits = test::round_to_bf16(bias);
    test::DeviceScratch d;
    const cuda::DeviceGemm g = device_gemm(c, d.upload(a_bits), d.upload(b_bits), d.upload(c0_bits),
                                           d.upload(bias_bits), DType::kBF16);
    blas.gemm(g);
    const auto got = test::from_bf16(d.download<uint16_t>(g.c, c.m * c.n));
    const auto ref = cpu_gemm(c, a, b, bias, c0);
    EXPECT_LE(test::max_rel_error(got, ref), 1e-2) << c.m << "x" << c.n << "x" << c.k;
    EXPECT_GT(test::cosine(got, ref), 0.9999) << c.m << "x" << c.n << "x" << c.k;
  }
}

// The plan cache keys on layout, not on pointers: a second problem of the same shape with new
// operands and a new bias must read those, and a bias/no-bias or transposed variant of the
// shape must get its own plan, not the first one's epilogue or operation.
TEST(CudaBlas, ReusedPlansReadEachCallsOperandsAndBias) {
  MOVA_REQUIRE_GPU();
  cuda::Blas blas(0);
  const Case variants[] = {{48, 40, 72, false, true, true, false},
                           {48, 40, 72, false, true, true, false},
                           {48, 40, 72, false, true, false, true},
                           {48, 40, 72, true, true, true, true},
                           {48, 40, 72, false, true, true, false}};
  const size_t plans_before = blas.cached_plans();
  uint32_t seed = 500;
  for (const Case& c : variants) {
    EXPECT_LE(f32_case_error(blas, c, seed), 1e-5)
        << "trans_a " << c.trans_a << " bias " << c.bias << " accumulate " << c.accumulate;
  }
  // Three layouts (bias, no bias, transposed A): the repeats' alignments agree, as their
  // pitches do and cudaMalloc'd buffers start 256-byte aligned.
  EXPECT_EQ(blas.cached_plans() - plans_before, 3u);
}

// cuBLASLt's heuristic takes the bias pointer's alignment from its value (cublasLt.h,
// CUBLASLT_MATMUL_DESC_BIAS_POINTER), so a bias less aligned than the one a plan was made with
// gets a plan of its own: a bias read from 4 and 8 bytes into its buffer, after one at its
// start (the emulator refuses a bias less aligned than the heuristic saw).
TEST(CudaBlas, BiasesOfEachAlignmentGetTheirOwnPlan) {
  MOVA_REQUIRE_GPU();
  cuda::Blas blas(0);
  const Case c{24, 40, 56, false, true, true, false};
  uint32_t seed = 600;
  const size_t plans_before = blas.cached_plans();
  for (const int64_t offset : {0, 1, 2, 0}) {  // in floats
    const auto a = test::random_vector(c.m * c.k, seed++);
    const auto b = test::random_vector(c.k * c.n, seed++);
    const auto bias = test::random_vector(c.n + 2, seed++);
    const auto c0 = test::random_vector(c.m * c.n, seed++);
    test::DeviceScratch d;
    const auto* on_device = static_cast<const float*>(d.upload(bias));
    const cuda::DeviceGemm g =
        device_gemm(c, d.upload(a), d.upload(b), d.upload(c0), on_device + offset, DType::kF32);
    blas.gemm(g);
    const std::vector<float> used(bias.begin() + offset, bias.begin() + offset + c.n);
    EXPECT_LE(test::max_rel_error(d.download<float>(g.c, c.m * c.n), cpu_gemm(c, a, b, used, c0)),
              1e-5)
        << "bias " << offset * 4 << " bytes into its buffer";
  }
  EXPECT_EQ(blas.cached_plans() - plans_before, 3u);  // 256-, 4- and 8-byte aligned biases
}

TEST(CudaBlas, RejectsUnsupportedDtypesByName) {
  MOVA_REQUIRE_GPU();
  cuda::Blas blas(0);
  test::DeviceScratch d;
  cuda::DeviceGemm g;
  g.m = g.n = g.k = 4;
  g.a = g.b = g.c = d.zeros(64);
  g.lda = g.ldb = g.ldc = 4;
  g.ab_dtype = DType::kF64;
  test::expect_error([&] { blas.gemm(g); }, {"F64"});
}

}  // namespace
}  // namespace mova
