#include "runtime/cuda/cudnn_attention.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/allocator.h"
#include "runtime/cuda/cudnn_library.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/device_memory.h"
#include "runtime/error.h"
#include "runtime/hash_mix.h"
#include "runtime/log.h"

namespace mova::cuda {
namespace {

// The graph's tensors, by the unique ids the variant pack names them with.
enum Uid : int64_t { kQ = 1, kK, kV, kO, kScale };

constexpr int64_t kRowAlignment = 16;  // bytes; declared to cuDNN for Q, K, V and O

bool aligned(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % kRowAlignment == 0;
}

// What a plan depends on: the shape and the operands' strides, not their addresses.
struct PlanKey {
  int64_t batch, heads, q_len, kv_len, head_dim;
  std::array<int64_t, 9> strides;  // q, k, v: batch, pos, head

  bool operator==(const PlanKey&) const = default;
};

struct PlanKeyHash {
  size_t operator()(const PlanKey& k) const {
    size_t h = 0;
    for (int64_t v : {k.batch, k.heads, k.q_len, k.kv_len, k.head_dim})
      hash_mix(h, static_cast<uint64_t>(v));
    for (int64_t v : k.strides) hash_mix(h, static_cast<uint64_t>(v));
    return h;
  }
};

std::string shape_text(const PlanKey& k) {
  return str_cat("[B ", k.batch, ", H ", k.heads, ", Lq ", k.q_len, ", Lk ", k.kv_len, ", D ",
                 k.head_dim, "]");
}

// Descriptors owned together, destroyed in reverse order of creation.
struct Descriptors {
  const CudnnApi* api;
  std::vector<cudnnBackendDescriptor_t> list;

  explicit Descriptors(const CudnnApi* a) : api(a) {}
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
  ~Descriptors() {
    for (auto it = list.rbegin(); it != list.rend(); ++it) api->destroy_descriptor(*it);
  }
};

// An execution plan and every descriptor it was built from (kept for its life), or, when cuDNN
// offered no engine, why.
struct Plan {
  explicit Plan(const CudnnApi* api) : owned(api) {}
  Descriptors owned;
  cudnnBackendDescriptor_t plan = nullptr;
  int64_t workspace_bytes = 0;
  std::string failure;            // empty when `plan` is usable
  bool unsupported = false;       // the failure is cuDNN's "not supported" (a decline, not a fault)
  bool library_unusable = false;  // the failure says no engine can run here, whatever the shape
};

// Builds descriptors while every call succeeds; the first failure is kept with what failed.
class Builder {
 public:
  Builder(const CudnnApi& api, Descriptors& owned) : api_(api), owned_(owned) {}

  bool ok() const { return status_ == CUDNN_STATUS_SUCCESS; }
  // cuDNN's NOT_SUPPORTED category (3000-3999): the library declines the problem. Not when what
  // is missing is the library's own ground (an incompatible driver or runtime, NVRTC or libcuda
  // for its run-time compiled engines, a sub-library): that declines every shape, and a user
  // should hear of it. (ARCH_MISMATCH, 3007, is a decline: cuDNN gives it per engine.)
  bool declined() const { return declines(status_); }
  bool library_unusable() const { return library_missing(status_); }
  static bool declines(cudnnStatus_t s) { return s >= 3000 && s < 4000 && !library_missing(s); }
  static bool library_missing(cudnnStatus_t s) {
    return s == CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER ||
           s == CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART ||
           s == CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING ||
           s == CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE;
  }
  std::string failure() const {
    std::string text =
        str_cat(failed_, ": ", api_.error_string(status_), " (", static_cast<int>(status_), ")");
    if (!detail_.empty()) text += str_cat(": ", detail_);
    return text;
  }

  cudnnBackendDescriptor_t make(cudnnBackendDescriptorType_t type, const char* what) {
    cudnnBackendDescriptor_t d = nullptr;
    if (ok() && check(api_.create_descriptor(type, &d), what)) owned_.list.push_back(d);
    return d;
  }
  void set(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
           cudnnBackendAttributeType_t type, int64_t count, const void* values, const char* what) {
    if (ok()) check(api_.set_attribute(d, name, type, count, values), what);
  }
  void link(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t name,
            cudnnBackendDescriptor_t value, const char* what) {
    set(d, name, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &value, what);
  }
  void finalize(cudnnBackendDescriptor_t d, const char* what) {
    if (ok()) check(api_.finalize(d), what);
  }
  bool check(cudnnStatus_t status, const char* what) {
    if (status != CUDNN_STATUS_SUCCESS && ok()) {
      status_ = status, failed_ = what;
      detail_ = last_error();
    }
    return status == CUDNN_STATUS_SUCCESS;
  }
  // A failure cuDNN reports by its results rather than by a status: its own text instead.
  void fail(cudnnStatus_t status, const char* what, std::string detail) {
    if (ok()) status_ = status, failed_ = what, detail_ = std::move(detail);
  }
  // cuDNN's message for its latest error on this thread, which says more than the status
  // (what is missing, which constraint the shape broke); empty if there is none.
  std::string last_error() const {
    if (!api_.last_error) return "";
    std::array<char, 512> text{};
    api_.last_error(text.data(), text.size());
    text.back() = '\0';
    return text.data();
  }

  // A 4-d tensor [B, H, L, D] (by its strides, in elements) or a scalar passed by value.
  cudnnBackendDescriptor_t tensor(Uid uid, cudnnDataType_t type, std::array<int64_t, 4> dims,
                                  std::array<int64_t, 4> strides, bool by_value, const char* what) {
    cudnnBackendDescriptor_t t = make(CUDNN_BACKEND_TENSOR_DESCRIPTOR, what);
    const int64_t id = uid, alignment = by_value ? 4 : kRowAlignment;
    const bool is_virtual = false;
    set(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &id, what);
    set(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &type, what);
    set(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims.data(), what);
    set(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides.data(), what);
    set(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &alignment, what);
    set(t, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &is_virtual, what);
    set(t, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &by_value, what);
    finalize(t, what);
    return t;
  }

 private:
  const CudnnApi& api_;
  Descriptors& owned_;
  cudnnStatus_t status_ = CUDNN_STATUS_SUCCESS;
  const char* failed_ = "";
  std::string detail_;
};

// The graph (one SDPA forward operation), the heuristic's engine configurations, and the first
// that finalizes into an execution plan.
std::unique_ptr<Plan> make_plan(const CudnnApi& api, cudnnHandle_t handle, const PlanKey& key) {
  auto plan = std::make_unique<Plan>(&api);
  Builder b(api, plan->owned);
  b.last_error();  // drops a message left by an earlier failure, not this plan's
  const auto operand = [&](Uid uid, int64_t len, int which, const char* what) {
    const int64_t* s = &key.strides[3 * which];  // batch, pos, head
    return b.tensor(uid, CUDNN_DATA_BFLOAT16, {key.batch, key.heads, len, key.head_dim},
                    {s[0], s[2], s[1], 1}, false, what);
  };
  cudnnBackendDescriptor_t q = operand(kQ, key.q_len, 0, "the Q tensor");
  cudnnBackendDescriptor_t k = operand(kK, key.kv_len, 1, "the K tensor");
  cudnnBackendDescriptor_t v = operand(kV, key.kv_len, 2, "the V tensor");
  const int64_t row = key.heads * key.head_dim;  // the output is [B, Lq, H, D] contiguous
  cudnnBackendDescriptor_t o =
      b.tensor(kO, CUDNN_DATA_BFLOAT16, {key.batch, key.heads, key.q_len, key.head_dim},
               {key.q_len * row, key.head_dim, row, 1}, false, "the O tensor");
  cudnnBackendDescriptor_t scale =
      b.tensor(kScale, CUDNN_DATA_FLOAT, {1, 1, 1, 1}, {1, 1, 1, 1}, true, "the scale");

  cudnnBackendDescriptor_t sdpa =
      b.make(CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR, "the SDPA operation");
  b.link(sdpa, CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, q, "the SDPA operation's Q");
  b.link(sdpa, CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC, k, "the SDPA operation's K");
  b.link(sdpa, CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, v, "the SDPA operation's V");
  b.link(sdpa, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC, o, "the SDPA operation's O");
  b.link(sdpa, CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC, scale, "the SDPA operation's scale");
  b.finalize(sdpa, "the SDPA operation");

  cudnnBackendDescriptor_t graph =
      b.make(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, "the operation graph");
  b.set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &sdpa,
        "the operation graph");
  b.set(graph, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle,
        "the operation graph's handle");
  b.finalize(graph, "the operation graph");

  cudnnBackendDescriptor_t heuristic = b.make(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR, "the heuristic");
  const cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
  b.link(heuristic, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph, "the heuristic's graph");
  b.set(heuristic, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode,
        "the heuristic's mode");
  b.finalize(heuristic, "the heuristic");
  int64_t count = 0;
  if (b.ok())
    b.check(api.get_attribute(heuristic, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                              CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr),
            "the heuristic's result count");
  const int64_t counted = count;
  std::vector<cudnnBackendDescriptor_t> configs(static_cast<size_t>(std::max<int64_t>(count, 0)));
  for (auto& c : configs) c = b.make(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, "an engine config");
  if (b.ok() && count > 0)
    b.check(api.get_attribute(heuristic, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                              CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &count, configs.data()),
            "the heuristic's results");
  if (b.ok() && counted == 0)
    b.fail(CUDNN_STATUS_NOT_SUPPORTED, "the heuristic", "it offered no engine");
  // The heuristic counts its engines before it drops those that cannot run here (no libcuda,
  // no NVRTC for the run-time compiled ones): none left of a nonzero count is not a decline.
  if (b.ok() && counted > 0 && count <= 0) {
    const std::string said = b.last_error();  // reading it clears it
    b.fail(CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING, "the heuristic",
           str_cat("it counted ", counted, " engine configurations and returned none (",
                   said.empty() ? "a library they need may be missing" : said, ")"));
  }
  // An engine that cannot take the problem: try the next. The first failure says most (the
  // best-ranked engine's), unless a later one names something missing rather than a decline.
  cudnnStatus_t why = CUDNN_STATUS_SUCCESS;
  std::string why_detail;
  count = std::min<int64_t>(count, static_cast<int64_t>(configs.size()));
  for (int64_t i = 0; b.ok() && !plan->plan && i < count; ++i) {
    cudnnBackendDescriptor_t candidate =
        b.make(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR, "an execution plan");
    b.set(candidate, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle,
          "the execution plan's handle");
    b.link(candidate, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, configs[i],
           "the execution plan's engine");
    if (!b.ok()) break;
    const cudnnStatus_t status = api.finalize(candidate);
    if (status == CUDNN_STATUS_SUCCESS) {
      plan->plan = candidate;
    } else if (why == CUDNN_STATUS_SUCCESS ||
               (Builder::declines(why) && !Builder::declines(status))) {
      why = status;
      why_detail = b.last_error();
    }
  }
  if (b.ok() && !plan->plan)
    b.fail(why, "every engine the heuristic offered",
           why_detail.empty() ? str_cat(count, " tried") : why_detail);
  if (b.ok())
    b.check(api.get_attribute(plan->plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                              CUDNN_TYPE_INT64, 1, &count, &plan->workspace_bytes),
            "the plan's workspace size");
  if (!b.ok()) {
    plan->plan = nullptr;
    plan->failure = b.failure();
    plan->unsupported = b.declined();
    plan->library_unusable = b.library_unusable();
  }
  return plan;
}

}  // namespace

struct CudnnAttention::Impl {
  int device;
  const CudnnApi* api = nullptr;
  cudnnHandle_t handle = nullptr;
  BufferPool own_pool;
  BufferPool* shared_pool;  // the backend's, when given: its weight cache gives memory back
  std::shared_ptr<void> workspace;
  int64_t workspace_bytes = 0;
  bool announced = false;
  bool unusable = false;  // a plan found that no engine can run here: cuDNN is not asked again
  std::mutex mutex;       // plans, workspace, and the handle's stream from lookup to enqueue
  std::unordered_map<PlanKey, std::unique_ptr<Plan>, PlanKeyHash> plans;

  Impl(int d, BufferPool* workspaces)
      : device(d), own_pool(device_allocator(d)), shared_pool(workspaces) {
    const CudnnApi* loaded = cudnn_api();
    if (!loaded) return;
    const ScopedDevice on(device);
    const cudnnStatus_t status = on.ok() ? loaded->create(&handle) : CUDNN_STATUS_BAD_PARAM;
    if (status != CUDNN_STATUS_SUCCESS) {
      MOVA_LOG_WARN("cuda:", device, ": ", cudnn_description(), " cannot make a handle (",
                    loaded->error_string(status), "): attention runs on mova's own kernels");
      handle = nullptr;
      return;
    }
    api = loaded;
  }
  BufferPool& pool() { return shared_pool ? *shared_pool : own_pool; }

  ~Impl() {
    workspace.reset();
    plans.clear();  // descriptors before the handle
    if (handle) api->destroy(handle);
  }

  Plan& plan(const PlanKey& key) {
    const auto it = plans.find(key);
    if (it != plans.end()) return *it->second;
    auto made = make_plan(*api, handle, key);
    if (made->library_unusable) {
      unusable = true;
      MOVA_LOG_WARN("cuda:", device, ": ", cudnn_description(), " cannot run its engines here (",
                    made->failure, "; planning ", shape_text(key),
                    "): attention runs on mova's own kernels from now on");
    } else if (!made->failure.empty() && made->unsupported)
      MOVA_LOG_INFO("cuda:", device, ": ", cudnn_description(), " has no fused attention for ",
                    shape_text(key), " (", made->failure, "): mova's own kernel runs it");
    else if (!made->failure.empty())  // not a decline: a fault in the graph or the library
      MOVA_LOG_WARN("cuda:", device, ": ", cudnn_description(), " failed to plan attention for ",
                    shape_text(key), " (", made->failure, "): mova's own kernel runs it");
    else if (!announced)
      MOVA_LOG_INFO("cuda:", device, ": BF16 attention through the fused SDPA of ",
                    cudnn_description(), " where it applies");
    announced |= made->failure.empty();
    return *plans.emplace(key, std::move(made)).first->second;
  }
};

CudnnAttention::CudnnAttention(int device, BufferPool* workspaces)
    : impl_(std::make_unique<Impl>(device, workspaces)) {}
CudnnAttention::~CudnnAttention() = default;

bool CudnnAttention::available() const {
  return impl_->api != nullptr;
}

bool CudnnAttention::takes(const AttentionArgs& a) {
  const auto rows_aligned = [](const HeadStrides& s) {
    return s.batch % 8 == 0 && s.pos % 8 == 0 && s.head % 8 == 0;  // 8 BF16 = 16 bytes
  };
  // One query over one key is a known issue of cuDNN's SDPA (NVIDIA's own tests skip it).
  const bool one_by_one = a.q_len == 1 && a.kv_len == 1;
  return a.dtype == DType::kBF16 && !a.bias && !a.key_mask && a.kernel == AttentionKernel::kAuto &&
         a.head_dim > 0 && a.head_dim <= 128 && a.head_dim % 8 == 0 && a.batch > 0 && a.heads > 0 &&
         a.q_len > 0 && a.kv_len > 0 && !one_by_one && aligned(a.q) && aligned(a.k) &&
         aligned(a.v) && aligned(a.out) && rows_aligned(a.q_strides) && rows_aligned(a.k_strides) &&
         rows_aligned(a.v_strides);
}

size_t CudnnAttention::cached_plans() const {
  std::lock_guard<std::mutex> lock(impl_->mutex);
  return impl_->plans.size();
}

bool CudnnAttention::run(const AttentionArgs& a, cudaStream_t stream) {
  if (!available() || !takes(a)) return false;
  Impl& m = *impl_;
  const ScopedDevice on(m.device);
  MOVA_CHECK(on.ok(), ErrorKind::kInternal, "cuDNN attention: cannot make device ", m.device,
             " current");
  const PlanKey key{
      a.batch,
      a.heads,
      a.q_len,
      a.kv_len,
      a.head_dim,
      {a.q_strides.batch, a.q_strides.pos, a.q_strides.head, a.k_strides.batch, a.k_strides.pos,
       a.k_strides.head, a.v_strides.batch, a.v_strides.pos, a.v_strides.head}};
  std::lock_guard<std::mutex> lock(m.mutex);
  if (m.unusable) return false;
  Plan& plan = m.plan(key);
  if (!plan.plan) return false;
  if (plan.workspace_bytes > m.workspace_bytes) {
    m.workspace.reset();
    m.workspace_bytes = 0;
    try {
      m.workspace = m.pool().allocate(static_cast<size_t>(plan.workspace_bytes));
    } catch (const Error& e) {  // the own kernel needs no workspace
      MOVA_LOG_WARN("cuda:", m.device, ": no room for cuDNN attention's ", plan.workspace_bytes,
                    "-byte workspace (", e.what(), "): mova's own kernel runs ", shape_text(key));
      return false;
    }
    m.workspace_bytes = plan.workspace_bytes;
  }
  float scale = a.scale != 0.0f ? a.scale : 1.0f / std::sqrt(static_cast<float>(a.head_dim));
  const std::array<int64_t, 5> uids = {kQ, kK, kV, kO, kScale};
  const std::array<void*, 5> pointers = {const_cast<void*>(a.q), const_cast<void*>(a.k),
                                         const_cast<void*>(a.v), a.out, &scale};
  void* workspace = m.workspace.get();
  // The variant pack lives for this call. A failure enqueued nothing: the plan is retired, the
  // own kernel runs this and later calls of the shape, and the log says why.
  Descriptors call(m.api);
  Builder b(*m.api, call);
  b.check(m.api->set_stream(m.handle, stream), "cudnnSetStream");
  cudnnBackendDescriptor_t pack = b.make(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR, "the variant pack");
  b.set(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 5, uids.data(),
        "the variant pack's ids");
  b.set(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 5, pointers.data(),
        "the variant pack's pointers");
  b.set(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace,
        "the variant pack's workspace");
  b.finalize(pack, "the variant pack");
  if (b.ok()) b.check(m.api->execute(m.handle, plan.plan, pack), "cudnnBackendExecute");
  if (b.ok()) return true;
  MOVA_LOG_WARN("cuda:", m.device, ": cuDNN attention ", shape_text(key), ": ", b.failure(),
                ": mova's own kernel runs this shape from now on");
  plan.plan = nullptr;  // its descriptor stays owned by the plan, destroyed with it
  plan.failure = b.failure();
  return false;
}

}  // namespace mova::cuda
