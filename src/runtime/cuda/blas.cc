#include "runtime/cuda/blas.h"

#include <cublasLt.h>

#include <cstdint>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/device_memory.h"

namespace mova::cuda {
namespace {

constexpr size_t kWorkspaceBytes = size_t{32} << 20;  // cuBLASLt's recommendation for Hopper

cudaDataType_t cuda_type(DType t, const char* what) {
  switch (t) {
    case DType::kF32:
      return CUDA_R_32F;
    case DType::kBF16:
      return CUDA_R_16BF;
    default:
      fail(ErrorKind::kUnsupported, "CUDA GEMM: ", what, " dtype ", dtype_name(t),
           " (F32 and BF16 are supported)");
  }
}

// RAII for the cuBLASLt descriptor handles.
template <typename T, cublasStatus_t (*Destroy)(T)>
struct Owned {
  T h = nullptr;
  ~Owned() {
    if (h) Destroy(h);
  }
};

using OpDesc = Owned<cublasLtMatmulDesc_t, cublasLtMatmulDescDestroy>;
using Layout = Owned<cublasLtMatrixLayout_t, cublasLtMatrixLayoutDestroy>;
using Preference = Owned<cublasLtMatmulPreference_t, cublasLtMatmulPreferenceDestroy>;

// The largest power of two up to 256 that divides p's address and the row pitch, so every
// row of the operand starts that aligned. cuBLASLt assumes 256-byte aligned operands unless
// told otherwise, and views (one head's columns of a [L, H, D] tensor, a BF16 chunk of
// positions) are often less aligned.
uint32_t alignment_of(const void* p, int64_t pitch_bytes) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && (address % a != 0 || pitch_bytes % a != 0)) a /= 2;
  return a;
}

void set_alignment(cublasLtMatmulPreference_t pref, cublasLtMatmulPreferenceAttributes_t attr,
                   uint32_t alignment) {
  MOVA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, attr, &alignment, sizeof alignment));
}

}  // namespace

struct Blas::Impl {
  int device = 0;
  cublasLtHandle_t handle = nullptr;
  BufferPool pool;
  std::shared_ptr<void> workspace;

  explicit Impl(int d) : device(d), pool(device_allocator(d)) {
    MOVA_CUBLAS_CHECK(cublasLtCreate(&handle));
    workspace = pool.allocate(kWorkspaceBytes);
  }
  ~Impl() {
    if (handle) cublasLtDestroy(handle);
  }
};

Blas::Blas(int device) : impl_(std::make_unique<Impl>(device)) {}
Blas::~Blas() = default;

void Blas::gemm(const DeviceGemm& g, cudaStream_t stream) {
  MOVA_CHECK(g.m > 0 && g.n > 0 && g.k > 0, ErrorKind::kShape, "CUDA GEMM: empty problem ", g.m,
             "x", g.n, "x", g.k);
  MOVA_CHECK(g.a && g.b && g.c, ErrorKind::kInternal, "CUDA GEMM: null operand");
  const cudaDataType_t ab = cuda_type(g.ab_dtype, "A/B");
  const cudaDataType_t ct = cuda_type(g.c_dtype, "C");
  MOVA_CUDA_CHECK(cudaSetDevice(impl_->device));

  // cuBLASLt is column-major: a row-major [r, c] matrix is its column-major transpose. So the
  // row-major C = A·B is computed as the column-major C^T (n x m) = B^T · A^T, with B as the
  // first operand.
  OpDesc op;
  MOVA_CUBLAS_CHECK(cublasLtMatmulDescCreate(&op.h, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t op_first = g.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_second = g.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  MOVA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op.h, CUBLASLT_MATMUL_DESC_TRANSA, &op_first,
                                                   sizeof op_first));
  MOVA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op.h, CUBLASLT_MATMUL_DESC_TRANSB, &op_second,
                                                   sizeof op_second));
  if (g.bias) {
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    const cudaDataType_t bias_type = CUDA_R_32F;
    MOVA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op.h, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                                     sizeof epilogue));
    MOVA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op.h, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                     &g.bias, sizeof g.bias));
    MOVA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(op.h, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE,
                                                     &bias_type, sizeof bias_type));
  }

  Layout first, second, out;
  // B: stored [k, n] (column-major n x k, used as is) or [n, k] (column-major k x n, transposed).
  MOVA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&first.h, ab, g.trans_b ? g.k : g.n,
                                               g.trans_b ? g.n : g.k, g.ldb));
  // A: stored [m, k] (column-major k x m) or [k, m] (column-major m x k, transposed).
  MOVA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&second.h, ab, g.trans_a ? g.m : g.k,
                                               g.trans_a ? g.k : g.m, g.lda));
  MOVA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&out.h, ct, g.n, g.m, g.ldc));

  Preference pref;
  MOVA_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref.h));
  const size_t ws = kWorkspaceBytes;
  MOVA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref.h, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  // cuBLASLt's A is our B and its B our A (the row-major swap above); C and D are g.c.
  const int64_t ab_size = dtype_size(g.ab_dtype), c_size = dtype_size(g.c_dtype);
  const uint32_t align_a = alignment_of(g.a, g.lda * ab_size),
                 align_b = alignment_of(g.b, g.ldb * ab_size),
                 align_c = alignment_of(g.c, g.ldc * c_size);
  set_alignment(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, align_b);
  set_alignment(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, align_a);
  set_alignment(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, align_c);
  set_alignment(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, align_c);
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  // With no algorithm the heuristic may fail outright (NOT_SUPPORTED) rather than find none.
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
      impl_->handle, op.h, first.h, second.h, out.h, out.h, pref.h, 1, &heuristic, &found);
  MOVA_CHECK(status == CUBLAS_STATUS_SUCCESS && found > 0, ErrorKind::kUnsupported,
             "cuBLASLt has no algorithm for ", g.m, "x", g.n, "x", g.k, " ", dtype_name(g.ab_dtype),
             " -> ", dtype_name(g.c_dtype), " (lda ", g.lda, ", ldb ", g.ldb, ", ldc ", g.ldc,
             "; row alignment ", align_a, "/", align_b, "/", align_c, " bytes; status ",
             static_cast<int>(status), ")");

  const float alpha = 1.0f, beta = g.accumulate ? 1.0f : 0.0f;
  MOVA_CUBLAS_CHECK(cublasLtMatmul(impl_->handle, op.h, &alpha, g.b, first.h, g.a, second.h, &beta,
                                   g.c, out.h, g.c, out.h, &heuristic.algo, impl_->workspace.get(),
                                   ws, stream));
}

}  // namespace mova::cuda
