// The GEMM against a naive double-precision triple loop, on every ISA this CPU supports,
// over odd shapes that exercise every edge path (partial MR/NR tiles, k spanning several
// KC blocks, k = 0), both operand layouts, BF16/F16 weights, bias and accumulation.
// Tolerance: |ours - ref| <= 1e-5 * sum_k |a||b| + 1e-6 (f32 accumulation error bound).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <tuple>

#include "runtime/cpu/cpu_features.h"
#include "runtime/cpu/gemm.h"
#include "runtime/cpu/transpose_pack.h"
#include "runtime/exec.h"
#include "runtime/ops/linear.h"
#include "test_util.h"

namespace mova {
namespace {

struct Case {
  int64_t m, n, k;
};

void run_case(const Case& c, bool trans_a, bool trans_b, DType b_dtype, bool bias, bool accumulate,
              ThreadPool* pool) {
  auto a = test::random_vector(c.m * c.k, 1 + c.m);
  auto bf = test::random_vector(c.k * c.n, 2 + c.n);
  auto bias_v = test::random_vector(c.n, 3);
  auto c0 = test::random_vector(c.m * c.n, 4);
  // Round B to its storage dtype first so the reference sees the same values.
  std::vector<uint16_t> b16(bf.size());
  if (b_dtype != DType::kF32) {
    for (size_t i = 0; i < bf.size(); ++i) {
      b16[i] = b_dtype == DType::kBF16 ? f32_to_bf16(bf[i]) : f32_to_f16(bf[i]);
      bf[i] = b_dtype == DType::kBF16 ? bf16_to_f32(b16[i]) : f16_to_f32(b16[i]);
    }
  }
  // Element accessors for both layouts.
  auto A = [&](int64_t i, int64_t p) { return trans_a ? a[p * c.m + i] : a[i * c.k + p]; };
  auto B = [&](int64_t p, int64_t j) { return trans_b ? bf[j * c.k + p] : bf[p * c.n + j]; };

  std::vector<float> out = c0;
  cpu::GemmProblem p;
  p.m = c.m;
  p.n = c.n;
  p.k = c.k;
  p.a = a.data();
  p.lda = trans_a ? c.m : c.k;
  p.trans_a = trans_a;
  p.b = b_dtype == DType::kF32 ? static_cast<const void*>(bf.data()) : b16.data();
  p.b_dtype = b_dtype;
  p.ldb = trans_b ? c.k : c.n;
  p.trans_b = trans_b;
  p.c = out.data();
  p.ldc = c.n;
  p.bias = bias ? bias_v.data() : nullptr;
  p.accumulate = accumulate;
  cpu::gemm(p, pool);

  for (int64_t i = 0; i < c.m; ++i) {
    for (int64_t j = 0; j < c.n; ++j) {
      double ref = accumulate ? c0[i * c.n + j] : 0.0;
      double mag = std::fabs(ref);
      if (bias) {
        ref += bias_v[j];
        mag += std::fabs(bias_v[j]);
      }
      for (int64_t q = 0; q < c.k; ++q) {
        ref += static_cast<double>(A(i, q)) * B(q, j);
        mag += std::fabs(static_cast<double>(A(i, q)) * B(q, j));
      }
      ASSERT_NEAR(out[i * c.n + j], ref, 1e-5 * mag + 1e-6)
          << "m=" << c.m << " n=" << c.n << " k=" << c.k << " at (" << i << "," << j << ")"
          << " trans_a=" << trans_a << " trans_b=" << trans_b << " dtype=" << dtype_name(b_dtype);
    }
  }
}

class GemmIsa : public ::testing::TestWithParam<cpu::Isa> {
 protected:
  void SetUp() override {
    cpu::set_isa_cap(GetParam());
    if (cpu::active_isa() != GetParam()) GTEST_SKIP() << "CPU lacks " << cpu::isa_name(GetParam());
  }
  void TearDown() override { cpu::set_isa_cap(cpu::Isa::kAvx512); }
};

TEST_P(GemmIsa, OddShapesAllLayouts) {
  ThreadPool pool(3);
  const Case cases[] = {{1, 1, 1},     {7, 13, 5},   {13, 33, 300}, {37, 65, 513},
                        {130, 70, 17}, {5, 200, 64}, {3, 4, 0}};
  for (const Case& c : cases)
    for (bool ta : {false, true})
      for (bool tb : {false, true}) run_case(c, ta, tb, DType::kF32, false, false, &pool);
}

TEST_P(GemmIsa, LowPrecisionWeightsBiasAccumulate) {
  ThreadPool pool(2);
  for (DType dt : {DType::kBF16, DType::kF16})
    for (bool tb : {false, true}) {
      run_case({29, 47, 270}, false, tb, dt, true, false, &pool);
      run_case({29, 47, 270}, false, tb, dt, true, true, &pool);
    }
  run_case({64, 96, 300}, false, true, DType::kF32, false, true, nullptr);
}

TEST_P(GemmIsa, LargeThreadedMatchesSingleThreaded) {
  const Case c{300, 520, 700};
  auto a = test::random_vector(c.m * c.k, 11);
  auto b = test::random_vector(c.n * c.k, 12);
  std::vector<float> one(c.m * c.n), many(c.m * c.n);
  cpu::GemmProblem p;
  p.m = c.m;
  p.n = c.n;
  p.k = c.k;
  p.a = a.data();
  p.lda = c.k;
  p.b = b.data();
  p.ldb = c.k;
  p.trans_b = true;
  p.ldc = c.n;
  p.c = one.data();
  cpu::gemm(p, nullptr);
  ThreadPool pool(4);
  p.c = many.data();
  cpu::gemm(p, &pool);
  // Each output element is computed by exactly one thread in the same order: bit-identical.
  EXPECT_EQ(one, many);
}

// A B operand supplied row by row through b_row (as the convolution gathers its columns) must
// give the same bits as the same B read through b, whatever the panel width, depth blocks,
// partial panels and threads.
TEST_P(GemmIsa, RowSuppliedOperandMatchesStoredOne) {
  ThreadPool pool(3);
  const Case cases[] = {{7, 13, 5}, {37, 65, 513}, {20, 1100, 40}, {5, 2100, 300}, {4, 9, 0}};
  for (const Case& c : cases) {
    const auto a = test::random_vector(c.m * c.k, 31);
    const auto b = test::random_vector(c.k * c.n, 32);
    const auto c0 = test::random_vector(c.m * c.n, 33);
    cpu::GemmProblem p;
    p.m = c.m;
    p.n = c.n;
    p.k = c.k;
    p.a = a.data();
    p.lda = c.k;
    p.ldc = c.n;
    p.accumulate = true;
    for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
      std::vector<float> stored = c0, supplied = c0;
      p.b = b.data();
      p.ldb = c.n;
      p.b_row = nullptr;
      p.c = stored.data();
      cpu::gemm(p, tp);
      std::atomic<int64_t> rows{0};  // the GEMM's threads ask concurrently
      p.b = nullptr;
      p.b_row = [&](int64_t k, int64_t j0, int64_t n, float* out) {
        ++rows;
        std::copy_n(b.data() + k * c.n + j0, n, out);
      };
      p.c = supplied.data();
      cpu::gemm(p, tp);
      EXPECT_EQ(supplied, stored) << "m=" << c.m << " n=" << c.n << " k=" << c.k
                                  << (tp ? " threaded" : "");
      EXPECT_GE(rows, c.k);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, GemmIsa,
                         ::testing::Values(cpu::Isa::kScalar, cpu::Isa::kAvx2, cpu::Isa::kAvx512),
                         [](const auto& info) { return std::string(cpu::isa_name(info.param)); });

// The vector transposes of the packing copy against the element-by-element one, bit for bit,
// for every panel width the kernels use, partial panels, depths that leave tails after the 8-
// and 4-wide blocks, a row stride wider than the depth, and every weight dtype.
TEST(TransposePack, VectorBlocksMatchElementwiseCopy) {
  if (cpu::active_isa() == cpu::Isa::kScalar) GTEST_SKIP() << "CPU lacks AVX2";
  const int64_t ld = 301;
  const auto values = test::random_vector(40 * ld, 41);
  std::vector<uint16_t> bf16(values.size()), f16(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    bf16[i] = f32_to_bf16(values[i]);
    f16[i] = f32_to_f16(values[i]);
  }
  for (int width : {4, 6, 8, 12, 16, 32})
    for (int64_t rows = 1; rows <= width; ++rows)
      for (int64_t kc : {1, 3, 4, 7, 8, 9, 17, 256})
        for (DType dt : {DType::kF32, DType::kBF16, DType::kF16}) {
          const void* src = dt == DType::kF32    ? static_cast<const void*>(values.data())
                            : dt == DType::kBF16 ? static_cast<const void*>(bf16.data())
                                                 : static_cast<const void*>(f16.data());
          std::vector<float> simd(kc * width, -7.0f), scalar(kc * width, -7.0f);
          cpu::pack_transposed(src, dt, ld, rows, kc, width, simd.data(), true);
          cpu::pack_transposed(src, dt, ld, rows, kc, width, scalar.data(), false);
          ASSERT_EQ(simd, scalar) << "width " << width << " rows " << rows << " kc " << kc << " "
                                  << dtype_name(dt);
          // And the layout itself: element (r, k) of the source at [k * width + r].
          const float want = dt == DType::kF32    ? values[(rows - 1) * ld + kc - 1]
                             : dt == DType::kBF16 ? bf16_to_f32(bf16[(rows - 1) * ld + kc - 1])
                                                  : f16_to_f32(f16[(rows - 1) * ld + kc - 1]);
          ASSERT_EQ(scalar[(kc - 1) * width + rows - 1], want);
          if (rows < width) {
            ASSERT_EQ(scalar[rows], -7.0f) << "wrote past the rows";
          }
        }
}

TEST(Linear, MatchesTorchSemanticsAndChecksShapes) {
  Exec ex(2);
  Tensor x = Tensor::from_vector({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  Tensor w = Tensor::from_vector({2, 3}, {1, 0, -1, 0.5f, 0.5f, 0.5f}).to(DType::kBF16);
  Tensor b = Tensor::from_vector({2}, {10, 20});
  Tensor y = linear(ex, x, w, &b);
  ASSERT_EQ(y.shape(), (Shape{2, 1, 2}));
  EXPECT_FLOAT_EQ(y.item_f32({0, 0, 0}), 1 - 3 + 10);
  EXPECT_FLOAT_EQ(y.item_f32({1, 0, 1}), 0.5f * 15 + 20);
  Tensor bad = Tensor::zeros({4, 4}, DType::kF32).set_name("blocks.3.self_attn.q.weight");
  test::expect_error([&] { linear(ex, x, bad); }, {"blocks.3.self_attn.q.weight", "[4, 4]"});
  // BF16 activations only come from a device backend's BF16 path, never on the host.
  test::expect_error([&] { linear(ex, x.to(DType::kBF16), w); }, {"linear: input", "BF16", "F32"});
  Tensor m =
      matmul(ex, Tensor::from_vector({1, 2}, {1, 2}), Tensor::from_vector({2, 2}, {1, 2, 3, 4}));
  EXPECT_FLOAT_EQ(m.item_f32({0, 1}), 1 * 2 + 2 * 4);
}

// A zero-width input (k = 0) is a valid product: every output is the bias, or zero without one.
TEST(Linear, EmptyInnerDimensionGivesTheBias) {
  Exec ex(2);
  Tensor x = Tensor::zeros({2, 3, 0}, DType::kF32).select(0, 1);  // a view of an empty tensor
  Tensor w = Tensor::zeros({4, 0}, DType::kBF16);
  Tensor b = Tensor::from_vector({4}, {1, -2, 3, -4});
  Tensor y = linear(ex, x, w, &b);
  ASSERT_EQ(y.shape(), (Shape{3, 4}));
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t c = 0; c < 4; ++c) EXPECT_EQ(y.item_f32({r, c}), b.item_f32({c})) << r << "," << c;
  Tensor m = matmul(ex, Tensor::zeros({2, 0}, DType::kF32), Tensor::zeros({0, 3}, DType::kF32));
  ASSERT_EQ(m.shape(), (Shape{2, 3}));
  EXPECT_EQ(m.to_vector(), std::vector<float>(6, 0.0f));
}

}  // namespace
}  // namespace mova
