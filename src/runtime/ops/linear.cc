#include "runtime/ops/linear.h"

#include "runtime/backend.h"
#include "runtime/cpu/gemm.h"
#include "runtime/error.h"
#include "runtime/profile.h"

namespace mova {
namespace {

bool weight_dtype_ok(DType d) {
  return d == DType::kF32 || d == DType::kBF16 || d == DType::kF16;
}

}  // namespace

Tensor linear(Exec& ex, const Tensor& x, const Tensor& weight, const Tensor* bias,
              LinearResult result) {
  check_handoff_dtype(x, "linear");
  MOVA_CHECK(weight.dim() == 2 && weight.is_contiguous() && weight_dtype_ok(weight.dtype()),
             ErrorKind::kShape, "linear: weight ", weight.describe(),
             " must be a contiguous 2-D F32/BF16/F16 matrix");
  MOVA_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), ErrorKind::kShape, "linear: input ",
             x.describe(), " does not match weight ", weight.describe());
  if (const Device d = common_device("linear", {&x, &weight, bias}); !d.is_cpu())
    return backend_for(d, "linear").linear(x, weight, bias, result);
  const int64_t out = weight.size(0);
  MOVA_CHECK(!bias || bias->numel() == out, ErrorKind::kShape, "linear: bias ",
             bias ? bias->describe() : "", " does not match weight ", weight.describe());
  std::vector<float> bias_f32;
  if (bias) bias_f32 = bias->to_vector();
  const Tensor xc = x.contiguous(&ex.buffers());
  const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));  // k may be 0
  Shape out_shape = x.shape();
  out_shape.back() = out;
  Tensor y = Tensor::empty(out_shape, DType::kF32, &ex.buffers());
  cpu::GemmProblem p;
  p.m = rows;
  p.n = out;
  p.k = weight.size(1);
  p.a = xc.data<float>();
  p.lda = p.k;
  p.b = weight.raw_data();
  p.b_dtype = weight.dtype();
  p.ldb = p.k;
  p.trans_b = true;
  p.c = y.data<float>();
  p.ldc = out;
  p.bias = bias ? bias_f32.data() : nullptr;
  profile::Scope scope(profile::Category::kGemm, 2.0 * p.m * p.n * p.k);
  cpu::gemm(p, &ex.pool());
  return y;
}

Tensor matmul(Exec& ex, const Tensor& a, const Tensor& b, bool trans_b) {
  MOVA_CHECK(a.dim() == 2 && b.dim() == 2, ErrorKind::kShape, "matmul needs 2-D operands, got ",
             a.describe(), " and ", b.describe());
  MOVA_CHECK(a.dtype() == DType::kF32 && weight_dtype_ok(b.dtype()), ErrorKind::kShape,
             "matmul: unsupported dtypes ", a.describe(), " and ", b.describe());
  const int64_t k = a.size(1);
  const int64_t n = trans_b ? b.size(0) : b.size(1);
  MOVA_CHECK((trans_b ? b.size(1) : b.size(0)) == k, ErrorKind::kShape, "matmul: ", a.describe(),
             " and ", b.describe(), trans_b ? " (b transposed)" : "", " do not chain");
  if (const Device d = common_device("matmul", {&a, &b}); !d.is_cpu())
    return backend_for(d, "matmul").matmul(a, b, trans_b);
  const Tensor ac = a.contiguous(&ex.buffers());
  const Tensor bc = b.contiguous(&ex.buffers());
  Tensor c = Tensor::empty({a.size(0), n}, DType::kF32, &ex.buffers());
  cpu::GemmProblem p;
  p.m = a.size(0);
  p.n = n;
  p.k = k;
  p.a = ac.data<float>();
  p.lda = k;
  p.b = bc.raw_data();
  p.b_dtype = bc.dtype();
  p.ldb = bc.size(1);
  p.trans_b = trans_b;
  p.c = c.data<float>();
  p.ldc = n;
  profile::Scope scope(profile::Category::kGemm, 2.0 * p.m * p.n * p.k);
  cpu::gemm(p, &ex.pool());
  return c;
}

}  // namespace mova
