// CUDA emulator: cuBLASLt's matmul on the CPU. Layouts are column-major (rows, cols, ld);
// D = alpha·op(A)·op(B) + beta·C, then the bias epilogue adds bias[row] (the bias has one
// element per row of D). With beta = 0, C is not read, as cuBLAS promises. Products are summed
// in F32 (CUBLAS_COMPUTE_32F) and D is rounded to its type once.
#include <cublasLt.h>
#include <cuda_bf16.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "emulator.h"

struct cublasLtContext {
  int device;
};
struct cublasLtMatmulDescOpaque_t {
  cublasComputeType_t compute;
  cudaDataType_t scale;
  cublasOperation_t trans_a = CUBLAS_OP_N, trans_b = CUBLAS_OP_N;
  cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  const void* bias = nullptr;
  int bias_type = -1;  // -1: the type of D, as the library defaults
};
struct cublasLtMatrixLayoutOpaque_t {
  cudaDataType_t type;
  uint64_t rows, cols;
  int64_t ld;
};
struct cublasLtMatmulPreferenceOpaque_t {
  size_t max_workspace = 0;
  uint32_t align[4] = {256, 256, 256, 256};  // A, B, C, D: the library assumes 256 unless told
};

using namespace mova::cuda_emulator;

namespace {

constexpr uint64_t kAlgoMagic = 0x6d6f7661656d75ULL;  // marks an algorithm this emulator made

size_t element_size(int type) {
  return type == CUDA_R_32F ? 4 : 2;
}

float read(const void* base, int type, size_t i) {
  if (type == CUDA_R_32F) return static_cast<const float*>(base)[i];
  return __bfloat162float(static_cast<const __nv_bfloat16*>(base)[i]);
}

void write(void* base, int type, size_t i, float v) {
  if (type == CUDA_R_32F)
    static_cast<float*>(base)[i] = v;
  else
    static_cast<__nv_bfloat16*>(base)[i] = __float2bfloat16_rn(v);
}

// The bytes a column-major layout spans.
size_t span_bytes(const cublasLtMatrixLayoutOpaque_t& l) {
  return ((l.cols - 1) * static_cast<uint64_t>(l.ld) + l.rows) * element_size(l.type);
}

// The static checks the heuristic and the matmul share: shapes chain, leading dimensions cover
// a column, the types are a supported combination. Sets m, n, k.
cublasStatus_t check_problem(const cublasLtMatmulDescOpaque_t& d,
                             const cublasLtMatrixLayoutOpaque_t& a,
                             const cublasLtMatrixLayoutOpaque_t& b,
                             const cublasLtMatrixLayoutOpaque_t& c,
                             const cublasLtMatrixLayoutOpaque_t& out, uint64_t& m, uint64_t& n,
                             uint64_t& k) {
  m = out.rows, n = out.cols;
  const uint64_t a_rows = d.trans_a == CUBLAS_OP_T ? a.cols : a.rows;
  k = d.trans_a == CUBLAS_OP_T ? a.rows : a.cols;
  const uint64_t b_rows = d.trans_b == CUBLAS_OP_T ? b.cols : b.rows;
  const uint64_t b_cols = d.trans_b == CUBLAS_OP_T ? b.rows : b.cols;
  if (a_rows != m || b_rows != k || b_cols != n || c.rows != m || c.cols != n) {
    say("cublasLtMatmul: op(A) is %llu x %llu, op(B) %llu x %llu, C %llu x %llu, D %llu x %llu",
        static_cast<unsigned long long>(a_rows), static_cast<unsigned long long>(k),
        static_cast<unsigned long long>(b_rows), static_cast<unsigned long long>(b_cols),
        static_cast<unsigned long long>(c.rows), static_cast<unsigned long long>(c.cols),
        static_cast<unsigned long long>(m), static_cast<unsigned long long>(n));
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  for (const auto* l : {&a, &b, &c, &out}) {
    if (l->rows == 0 || l->cols == 0 || l->ld < static_cast<int64_t>(l->rows)) {
      say("cublasLtMatmul: a %llu x %llu layout with ld %lld",
          static_cast<unsigned long long>(l->rows), static_cast<unsigned long long>(l->cols),
          static_cast<long long>(l->ld));
      return CUBLAS_STATUS_INVALID_VALUE;
    }
  }
  const bool ab_ok = a.type == b.type && (a.type == CUDA_R_32F || a.type == CUDA_R_16BF);
  const bool cd_ok = c.type == out.type && (out.type == CUDA_R_32F || out.type == CUDA_R_16BF);
  const bool combo_ok = a.type == CUDA_R_16BF || out.type == CUDA_R_32F;
  const int bias_type = d.bias_type < 0 ? out.type : d.bias_type;
  const bool bias_ok =
      d.epilogue == CUBLASLT_EPILOGUE_DEFAULT ||
      // A bias of D's type, the library's default and the combination its documentation lists
      // for every D type; an F32 bias beside a BF16 D is refused, as a library without it would.
      (d.epilogue == CUBLASLT_EPILOGUE_BIAS && bias_type == out.type);
  if (!ab_ok || !cd_ok || !combo_ok || !bias_ok || d.compute != CUBLAS_COMPUTE_32F ||
      d.scale != CUDA_R_32F) {
    say("cublasLtMatmul: types A %d B %d C %d D %d, bias %d, compute %d, scale %d unsupported",
        a.type, b.type, c.type, out.type, bias_type, d.compute, d.scale);
    return CUBLAS_STATUS_NOT_SUPPORTED;
  }
  return CUBLAS_STATUS_SUCCESS;
}

// An operand must be device memory of the handle's device, wholly inside one allocation, and
// as aligned as the algorithm was promised.
// The largest power of two up to 256 that divides the address; 256 for null.
uint32_t address_alignment(const void* p) {
  const auto address = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && address % a != 0) a /= 2;
  return a;
}

bool operand_ok(const char* name, const void* p, size_t bytes, uint32_t alignment, int device) {
  const auto a = find_allocation(p, bytes);
  if (!a) {
    say("cublasLtMatmul: %s (%p, %zu bytes) is not inside device memory", name, p, bytes);
    return false;
  }
  if (a->device != device) {
    say("cublasLtMatmul: %s is on device %d, the handle's is %d", name, a->device, device);
    return false;
  }
  if (reinterpret_cast<uintptr_t>(p) % alignment != 0) {
    say("cublasLtMatmul: %s at %p is less aligned than the %u bytes its algorithm assumes", name, p,
        alignment);
    return false;
  }
  touched_on_default_stream(p);
  return true;
}

}  // namespace

namespace mova::cuda_emulator {
namespace {
__attribute__((target("fma"))) float dot_fma(const float* x, const float* y, uint64_t k) {
  float s = 0.0f;
  for (uint64_t p = 0; p < k; ++p) s = __builtin_fmaf(x[p], y[p], s);
  return s;
}
}  // namespace

// The FMA instruction where the CPU has it: std::fma without it is a library call, 20 % of an
// emulated run.
float dot_in_order(const float* x, const float* y, uint64_t k) {
  static const bool has_fma = __builtin_cpu_supports("fma");
  if (has_fma) return dot_fma(x, y, k);
  float s = 0.0f;
  for (uint64_t p = 0; p < k; ++p) s = std::fma(x[p], y[p], s);
  return s;
}

}  // namespace mova::cuda_emulator

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  *handle = new cublasLtContext{current_device()};
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasLtGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
  }
  return "CUBLAS_STATUS_UNKNOWN";
}
const char* cublasLtGetStatusString(cublasStatus_t status) {
  return status == CUBLAS_STATUS_SUCCESS ? "success"
                                         : "the CUDA emulator refused the call (see stderr)";
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc, cublasComputeType_t compute,
                                        cudaDataType_t scale_type) {
  *desc = new cublasLtMatmulDescOpaque_t{compute, scale_type};
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
  delete desc;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc,
                                              cublasLtMatmulDescAttributes_t attr, const void* buf,
                                              size_t size) {
  const auto take = [&](auto& field) {
    if (size != sizeof field) return false;
    std::memcpy(&field, buf, size);
    return true;
  };
  bool ok = false;
  switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA:
      ok = take(desc->trans_a);
      break;
    case CUBLASLT_MATMUL_DESC_TRANSB:
      ok = take(desc->trans_b);
      break;
    case CUBLASLT_MATMUL_DESC_EPILOGUE:
      ok = take(desc->epilogue);
      break;
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER:
      ok = take(desc->bias);
      break;
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE:
      ok = take(desc->bias_type);
      break;
  }
  if (!ok) {
    say("cublasLtMatmulDescSetAttribute: attribute %d with %zu bytes", static_cast<int>(attr),
        size);
    return CUBLAS_STATUS_INVALID_VALUE;
  }
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType_t type,
                                          uint64_t rows, uint64_t cols, int64_t ld) {
  *layout = new cublasLtMatrixLayoutOpaque_t{type, rows, cols, ld};
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  delete layout;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* pref) {
  *pref = new cublasLtMatmulPreferenceOpaque_t;
  return CUBLAS_STATUS_SUCCESS;
}
cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
  delete pref;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr,
                                                    const void* buf, size_t size) {
  if (attr == CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES && size == sizeof(size_t)) {
    std::memcpy(&pref->max_workspace, buf, size);
    return CUBLAS_STATUS_SUCCESS;
  }
  const int slot = static_cast<int>(attr) - CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES;
  uint32_t value = 0;
  if (slot >= 0 && slot < 4 && size == sizeof value) {
    std::memcpy(&value, buf, size);
    if (value != 0 && (value & (value - 1)) == 0) {
      pref->align[slot] = value;
      return CUBLAS_STATUS_SUCCESS;
    }
  }
  say("cublasLtMatmulPreferenceSetAttribute: attribute %d with %zu bytes", static_cast<int>(attr),
      size);
  return CUBLAS_STATUS_INVALID_VALUE;
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                              cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                              cublasLtMatmulPreference_t pref, int requested,
                                              cublasLtMatmulHeuristicResult_t* results,
                                              int* returned) {
  *returned = 0;
  if (!handle || !desc || !a || !b || !c || !d || !pref || requested < 1)
    return CUBLAS_STATUS_INVALID_VALUE;
  uint64_t m, n, k;
  const cublasStatus_t status = check_problem(*desc, *a, *b, *c, *d, m, n, k);
  if (status != CUBLAS_STATUS_SUCCESS) return status;
  results[0] = {};
  results[0].algo.data[0] = kAlgoMagic;
  for (int i = 0; i < 4; ++i) results[0].algo.data[1 + i] = pref->align[i];
  // cublasLt.h, CUBLASLT_MATMUL_DESC_BIAS_POINTER: the heuristic reads the bias pointer's value
  // for the alignment the algorithm may expect of it (a null one promises any).
  results[0].algo.data[5] = address_alignment(desc->bias);
  results[0].state = CUBLAS_STATUS_SUCCESS;
  results[0].wavesCount = 1.0f;
  *returned = 1;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                              const void* alpha_p, const void* a, cublasLtMatrixLayout_t a_layout,
                              const void* b, cublasLtMatrixLayout_t b_layout, const void* beta_p,
                              const void* c, cublasLtMatrixLayout_t c_layout, void* d,
                              cublasLtMatrixLayout_t d_layout, const cublasLtMatmulAlgo_t* algo,
                              void* workspace, size_t workspace_bytes, cudaStream_t) {
  if (!handle || !desc || !a_layout || !b_layout || !c_layout || !d_layout || !algo ||
      algo->data[0] != kAlgoMagic)
    return CUBLAS_STATUS_INVALID_VALUE;
  uint64_t m, n, k;
  const cublasStatus_t status =
      check_problem(*desc, *a_layout, *b_layout, *c_layout, *d_layout, m, n, k);
  if (status != CUBLAS_STATUS_SUCCESS) return status;
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  const float alpha = *static_cast<const float*>(alpha_p);
  const float beta = *static_cast<const float*>(beta_p);
  const auto align = [&](int i) { return static_cast<uint32_t>(algo->data[1 + i]); };
  const int device = handle->device;
  const bool bias = desc->epilogue == CUBLASLT_EPILOGUE_BIAS;
  const int bias_type = desc->bias_type < 0 ? d_layout->type : desc->bias_type;
  if (!operand_ok("A", a, span_bytes(*a_layout), align(0), device) ||
      !operand_ok("B", b, span_bytes(*b_layout), align(1), device) ||
      (beta != 0.0f && !operand_ok("C", c, span_bytes(*c_layout), align(2), device)) ||
      !operand_ok("D", d, span_bytes(*d_layout), align(3), device) ||
      (bias && !operand_ok("the bias", desc->bias, m * element_size(bias_type),
                           static_cast<uint32_t>(algo->data[5]), device)) ||
      (workspace_bytes > 0 && !operand_ok("the workspace", workspace, workspace_bytes, 1, device)))
    return CUBLAS_STATUS_INVALID_VALUE;
  if (memory_only()) return CUBLAS_STATUS_SUCCESS;

  const DeviceAccess open;
  const auto& al = *a_layout;
  const auto& bl = *b_layout;
  const bool ta = desc->trans_a == CUBLAS_OP_T, tb = desc->trans_b == CUBLAS_OP_T;
  // op(A) row by row and op(B) column by column, widened to F32, so each output is one dot
  // product summed in k order with a fused multiply-add per step, as a GPU SGEMM thread
  // accumulates its output.
  std::vector<float> rows(m * k), cols(n * k);
  for (uint64_t i = 0; i < m; ++i)
    for (uint64_t p = 0; p < k; ++p)
      rows[i * k + p] = read(a, al.type, ta ? p + i * al.ld : i + p * al.ld);
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t p = 0; p < k; ++p)
      cols[j * k + p] = read(b, bl.type, tb ? j + p * bl.ld : p + j * bl.ld);
  // D may be C: compute every output before writing any.
  std::vector<float> out(m * n);
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t i = 0; i < m; ++i) {
      float v = alpha * dot_in_order(&rows[i * k], &cols[j * k], k);
      if (beta != 0.0f) v += beta * read(c, c_layout->type, i + j * c_layout->ld);
      if (bias) v += read(desc->bias, bias_type, i);
      out[i + j * m] = v;
    }
  for (uint64_t j = 0; j < n; ++j)
    for (uint64_t i = 0; i < m; ++i) write(d, d_layout->type, i + j * d_layout->ld, out[i + j * m]);
  return CUBLAS_STATUS_SUCCESS;
}
