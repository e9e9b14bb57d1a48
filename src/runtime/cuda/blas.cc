#include "runtime/cuda/blas.h"

#include <cublasLt.h>

#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/device_memory.h"
#include "runtime/hash_mix.h"

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

// What the cuBLASLt descriptors and the heuristic's choice depend on: the problem's shape,
// leading dimensions, operations, dtypes, epilogue and operand alignments, not its pointers,
// its bias pointer or beta.
struct PlanKey {
  int64_t m, n, k, lda, ldb, ldc;
  bool trans_a, trans_b, bias;
  DType ab_dtype, c_dtype;
  uint32_t align_a, align_b, align_c, align_bias;  // align_bias: 0 without a bias

  bool operator==(const PlanKey&) const = default;
};

struct PlanKeyHash {
  size_t operator()(const PlanKey& p) const {
    size_t h = 0;
    for (int64_t v : {p.m, p.n, p.k, p.lda, p.ldb, p.ldc}) hash_mix(h, static_cast<uint64_t>(v));
    hash_mix(h, (uint64_t{p.trans_a} << 2) | (uint64_t{p.trans_b} << 1) | uint64_t{p.bias});
    hash_mix(h, (static_cast<uint64_t>(p.ab_dtype) << 8) | static_cast<uint64_t>(p.c_dtype));
    hash_mix(h, (uint64_t{p.align_a} << 32) | (uint64_t{p.align_b} << 16) | p.align_c);
    hash_mix(h, p.align_bias);
    return h;
  }
};

// The descriptors and algorithm of one PlanKey, built once: creating them and querying the
// heuristic costs tens of microseconds of host time per call, as much as a small GEMM runs,
// and attention by GEMM issues the same few shapes once per head and chunk.
struct Plan {
  OpDesc op;
  Layout first, second, out;
  cublasLtMatmulAlgo_t algo{};
};

// Plans kept at most; a run uses a few hundred shapes, so this only bounds pathological use.
constexpr size_t kMaxPlans = 4096;

// `bias`: the first call's, of the key's alignment (cublasLt.h: the heuristic reads the bias
// pointer's value for the alignment to expect of it).
std::unique_ptr<Plan> make_plan(cublasLtHandle_t handle, const PlanKey& key, const void* bias) {
  auto plan = std::make_unique<Plan>();
  const cudaDataType_t ab = cuda_type(key.ab_dtype, "A/B");
  const cudaDataType_t ct = cuda_type(key.c_dtype, "C");
  // cuBLASLt is column-major: a row-major [r, c] matrix is its column-major transpose. So the
  // row-major C = A·B is computed as the column-major C^T (n x m) = B^T · A^T, with B as the
  // first operand.
  MOVA_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->op.h, CUBLAS_COMPUTE_32F, CUDA_R_32F));
  const cublasOperation_t op_first = key.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_second = key.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
  MOVA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->op.h, CUBLASLT_MATMUL_DESC_TRANSA,
                                                   &op_first, sizeof op_first));
  MOVA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->op.h, CUBLASLT_MATMUL_DESC_TRANSB,
                                                   &op_second, sizeof op_second));
  if (key.bias) {
    const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    const cudaDataType_t bias_type = ct;  // blas.h: the bias is in C's dtype
    MOVA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->op.h, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                     &epilogue, sizeof epilogue));
    MOVA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
        plan->op.h, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type));
    MOVA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->op.h, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                     &bias, sizeof bias));
  }

  // B: stored [k, n] (column-major n x k, used as is) or [n, k] (column-major k x n, transposed).
  MOVA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->first.h, ab, key.trans_b ? key.k : key.n,
                                               key.trans_b ? key.n : key.k, key.ldb));
  // A: stored [m, k] (column-major k x m) or [k, m] (column-major m x k, transposed).
  MOVA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->second.h, ab, key.trans_a ? key.m : key.k,
                                               key.trans_a ? key.k : key.m, key.lda));
  MOVA_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan->out.h, ct, key.n, key.m, key.ldc));

  Preference pref;
  MOVA_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref.h));
  const size_t ws = kWorkspaceBytes;
  MOVA_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
      pref.h, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws));
  // cuBLASLt's A is our B and its B our A (the row-major swap above); C and D are ours.
  set_alignment(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.align_b);
  set_alignment(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.align_a);
  set_alignment(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.align_c);
  set_alignment(pref.h, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.align_c);
  cublasLtMatmulHeuristicResult_t heuristic{};
  int found = 0;
  // With no algorithm the heuristic may fail outright (NOT_SUPPORTED) rather than find none.
  const cublasStatus_t status =
      cublasLtMatmulAlgoGetHeuristic(handle, plan->op.h, plan->first.h, plan->second.h, plan->out.h,
                                     plan->out.h, pref.h, 1, &heuristic, &found);
  MOVA_CHECK(status == CUBLAS_STATUS_SUCCESS && found > 0, ErrorKind::kUnsupported,
             "cuBLASLt has no algorithm for ", key.m, "x", key.n, "x", key.k, " ",
             dtype_name(key.ab_dtype), " -> ", dtype_name(key.c_dtype), " (lda ", key.lda, ", ldb ",
             key.ldb, ", ldc ", key.ldc, "; row alignment ", key.align_a, "/", key.align_b, "/",
             key.align_c, " bytes; status ", static_cast<int>(status), ")");
  plan->algo = heuristic.algo;
  return plan;
}

}  // namespace

struct Blas::Impl {
  int device = 0;
  cublasLtHandle_t handle = nullptr;
  BufferPool pool;
  std::shared_ptr<void> workspace;
  // A plan's descriptor carries the bias pointer of the call being enqueued, so plans are
  // used under the lock from lookup to enqueue.
  std::mutex mutex;
  std::unordered_map<PlanKey, std::unique_ptr<Plan>, PlanKeyHash> plans;

  explicit Impl(int d) : device(d), pool(device_allocator(d)) {
    MOVA_CUBLAS_CHECK(cublasLtCreate(&handle));
    workspace = pool.allocate(kWorkspaceBytes);
  }
  ~Impl() {
    plans.clear();  // descriptors before the handle
    if (handle) cublasLtDestroy(handle);
  }

  Plan& plan(const PlanKey& key, const void* bias) {
    const auto it = plans.find(key);
    if (it != plans.end()) return *it->second;
    auto made = make_plan(handle, key, bias);  // throws before the cache changes
    if (plans.size() >= kMaxPlans) plans.clear();
    return *plans.emplace(key, std::move(made)).first->second;
  }
};

Blas::Blas(int device) : impl_(std::make_unique<Impl>(device)) {}
Blas::~Blas() = default;

size_t Blas::cached_plans() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->plans.size();
}

void Blas::gemm(const DeviceGemm& g, cudaStream_t stream) {
  MOVA_CHECK(g.m > 0 && g.n > 0 && g.k > 0, ErrorKind::kShape, "CUDA GEMM: empty problem ", g.m,
             "x", g.n, "x", g.k);
  MOVA_CHECK(g.a && g.b && g.c, ErrorKind::kInternal, "CUDA GEMM: null operand");
  const ScopedDevice on(impl_->device);
  MOVA_CHECK(on.ok(), ErrorKind::kInternal, "CUDA GEMM: cannot make device ", impl_->device,
             " current");

  const int64_t ab_size = dtype_size(g.ab_dtype), c_size = dtype_size(g.c_dtype);
  const PlanKey key{g.m,
                    g.n,
                    g.k,
                    g.lda,
                    g.ldb,
                    g.ldc,
                    g.trans_a,
                    g.trans_b,
                    g.bias != nullptr,
                    g.ab_dtype,
                    g.c_dtype,
                    alignment_of(g.a, g.lda * ab_size),
                    alignment_of(g.b, g.ldb * ab_size),
                    alignment_of(g.c, g.ldc * c_size),
                    g.bias ? alignment_of(g.bias, 0) : 0};
  std::lock_guard<std::mutex> lock(impl_->mutex);
  Plan& plan = impl_->plan(key, g.bias);
  if (g.bias) {
    MOVA_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.op.h, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                     &g.bias, sizeof g.bias));
  }
  const float alpha = 1.0f, beta = g.accumulate ? 1.0f : 0.0f;
  MOVA_CUBLAS_CHECK(cublasLtMatmul(impl_->handle, plan.op.h, &alpha, g.b, plan.first.h, g.a,
                                   plan.second.h, &beta, g.c, plan.out.h, g.c, plan.out.h,
                                   &plan.algo, impl_->workspace.get(), kWorkspaceBytes, stream));
}

}  // namespace mova::cuda
