// Norm kernels against the CPU ops (runtime/ops/norm.h, themselves checked against naive
// references). F32: max-rel 1e-5 (F32 block reductions against the CPU's float64 sums); BF16
// storage: inputs rounded to BF16 for both sides, max-rel 1e-2 and cosine > 0.9999.
#include <vector>

#include "cuda/cuda_test_util.h"
#include "runtime/cuda/kernels/norm.h"
#include "runtime/exec.h"
#include "runtime/ops/norm.h"
#include "test_util.h"

namespace mova {
namespace {

constexpr float kEps = 1e-6f;

// LayerNorm(x)·w + b, then ·(1 + scale) + shift, on the CPU.
std::vector<float> cpu_layer_norm_modulate(const std::vector<float>& x, int64_t rows, int64_t dim,
                                           const std::vector<float>* w, const std::vector<float>* b,
                                           const std::vector<float>* shift,
                                           const std::vector<float>* scale) {
  Exec ex(1);
  const Tensor xt = Tensor::from_vector({rows, dim}, x);
  const Tensor wt = w ? Tensor::from_vector({dim}, *w) : Tensor();
  const Tensor bt = b ? Tensor::from_vector({dim}, *b) : Tensor();
  auto y = layer_norm(ex, xt, w ? &wt : nullptr, b ? &bt : nullptr, kEps).to_vector();
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < dim; ++c) {
      float& v = y[r * dim + c];
      if (scale) v *= 1.0f + (*scale)[c];
      if (shift) v += (*shift)[c];
    }
  return y;
}

struct Case {
  int64_t rows, dim;
  bool affine, modulate;
};
const Case kCases[] = {{1, 1, false, false},
                       {5, 1000, true, false},
                       {37, 128, false, true},
                       {64, 5120, false, true},
                       {3, 1536, true, true}};

TEST(CudaNorm, LayerNormModulateMatchesCpu) {
  MOVA_REQUIRE_GPU();
  uint32_t seed = 1;
  for (const Case& c : kCases) {
    const auto x = test::random_vector(c.rows * c.dim, seed++, -3.0f, 5.0f);  // mean ≠ 0
    const auto w = test::random_vector(c.dim, seed++), b = test::random_vector(c.dim, seed++);
    const auto shift = test::random_vector(c.dim, seed++),
               scale = test::random_vector(c.dim, seed++);
    test::DeviceScratch d;
    cuda::LayerNormParams p;
    p.eps = kEps;
    if (c.affine) {
      p.weight = static_cast<const float*>(d.upload(w));
      p.bias = static_cast<const float*>(d.upload(b));
    }
    if (c.modulate) {
      p.shift = static_cast<const float*>(d.upload(shift));
      p.scale = static_cast<const float*>(d.upload(scale));
    }
    void* dx = d.upload(x);
    void* dy = d.zeros(x.size() * sizeof(float));
    cuda::layer_norm_modulate(dx, DType::kF32, dy, DType::kF32, c.rows, c.dim, p);
    const auto got = d.download<float>(dy, x.size());
    const auto ref =
        cpu_layer_norm_modulate(x, c.rows, c.dim, c.affine ? &w : nullptr, c.affine ? &b : nullptr,
                                c.modulate ? &shift : nullptr, c.modulate ? &scale : nullptr);
    EXPECT_LE(test::max_rel_error(got, ref), 1e-5) << c.rows << "x" << c.dim;
  }
}

TEST(CudaNorm, LayerNormModulateBf16) {
  MOVA_REQUIRE_GPU();
  const int64_t rows = 48, dim = 3072;
  auto x = test::random_vector(rows * dim, 7, -2.0f, 4.0f);
  const auto bits = test::round_to_bf16(x);
  const auto shift = test::random_vector(dim, 8), scale = test::random_vector(dim, 9);
  test::DeviceScratch d;
  cuda::LayerNormParams p;
  p.eps = kEps;
  p.shift = static_cast<const float*>(d.upload(shift));
  p.scale = static_cast<const float*>(d.upload(scale));
  void* dx = d.upload(bits);
  cuda::layer_norm_modulate(dx, DType::kBF16, dx, DType::kBF16, rows, dim, p);  // in place
  const auto got = test::from_bf16(d.download<uint16_t>(dx, x.size()));
  const auto ref = cpu_layer_norm_modulate(x, rows, dim, nullptr, nullptr, &shift, &scale);
  EXPECT_LE(test::max_rel_error(got, ref), 1e-2);
  EXPECT_GT(test::cosine(got, ref), 0.9999);
  // The DiT's case: the F32 residual stream in, BF16 out (one rounding of the F32 result).
  void* dx32 = d.upload(x);
  void* dy16 = d.zeros(x.size() * 2);
  cuda::layer_norm_modulate(dx32, DType::kF32, dy16, DType::kBF16, rows, dim, p);
  const auto mixed = test::from_bf16(d.download<uint16_t>(dy16, x.size()));
  EXPECT_LE(test::max_rel_error(mixed, ref), 1e-2);
  EXPECT_GT(test::cosine(mixed, ref), 0.9999);
}

TEST(CudaNorm, RmsNormMatchesCpu) {
  MOVA_REQUIRE_GPU();
  Exec ex(1);
  uint32_t seed = 50;
  for (const Case& c : kCases) {
    const auto x = test::random_vector(c.rows * c.dim, seed++, -3.0f, 3.0f);
    const auto w = test::random_vector(c.dim, seed++);
    test::DeviceScratch d;
    void* dx = d.upload(x);
    void* dy = d.zeros(x.size() * sizeof(float));
    const float* dw = c.affine ? static_cast<const float*>(d.upload(w)) : nullptr;
    cuda::rms_norm(dx, dy, DType::kF32, c.rows, c.dim, dw, kEps);
    const Tensor wt = Tensor::from_vector({c.dim}, w);
    const auto ref =
        rms_norm(ex, Tensor::from_vector({c.rows, c.dim}, x), c.affine ? &wt : nullptr, kEps)
            .to_vector();
    EXPECT_LE(test::max_rel_error(d.download<float>(dy, x.size()), ref), 1e-5)
        << c.rows << "x" << c.dim;
  }
}

TEST(CudaNorm, RejectsUnsupportedDtypeByName) {  // checked before any launch: no GPU needed
  test::expect_error([] { cuda::rms_norm(nullptr, nullptr, DType::kF64, 1, 8, nullptr, kEps); },
                     {"rms_norm", "F64"});
}

}  // namespace
}  // namespace mova
