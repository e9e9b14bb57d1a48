// CUDA emulator: the cuDNN graph API subset of include/cudnn_graph.h. Descriptors keep their
// attributes as set; finalizing checks what the operation needs (cuDNN's documented
// requirements for tensors and the SDPA forward operation) and resolves the links; the heuristic
// offers one engine; executing checks every operand against device memory and its declared
// alignment, then computes softmax(scale · Q·Kᵀ)·V per batch and head in F32 (each dot product in
// order with one fused multiply-add per step, exact exp), rounding O to BF16 once.
#include <cuda_bf16.h>
#include <cudnn_graph.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "emulator.h"

struct cudnnContext {
  int device;
};

using namespace mova::cuda_emulator;

namespace {

// MOVA_CUDA_EMULATOR_CUDNN=decline: the heuristic offers no engine; =filter: it counts one
// engine and then returns none, as the real library does when what an engine needs is missing
// (libcuda, NVRTC); =prerequisite: finalizing the plan fails with RUNTIME_PREREQUISITE_MISSING
// and a message for cudnnGetLastErrorString; =fail-execute: executing fails. For the tests of
// the callers' fallbacks and messages; read at each call.
bool misbehave(const char* how) {
  const char* v = std::getenv("MOVA_CUDA_EMULATOR_CUDNN");
  return v && std::strcmp(v, how) == 0;
}

thread_local std::string last_error_text;  // for cudnnGetLastErrorString

constexpr uint64_t kMagic = 0x63756e6e646573ULL;  // marks a live descriptor of this emulator
constexpr int64_t kPlanWorkspaceBytes = 4096;     // so the caller must hand a workspace in

struct Value {
  cudnnBackendAttributeType_t type;
  std::vector<unsigned char> bytes;
  int64_t count = 0;
};

struct Descriptor {
  uint64_t magic = kMagic;
  cudnnBackendDescriptorType_t type;
  bool finalized = false;
  std::map<int, Value> attributes;
  // Resolved when finalized (or, for an engine config, when the heuristic fills it):
  int64_t uid = 0, alignment = 0;  // tensor
  cudnnDataType_t dtype = CUDNN_DATA_FLOAT;
  std::vector<int64_t> dims, strides;
  bool by_value = false, is_virtual = false;
  Descriptor *q = nullptr, *k = nullptr, *v = nullptr, *o = nullptr, *scale = nullptr;  // SDPA
  Descriptor* op = nullptr;     // graph: its one operation
  Descriptor* graph = nullptr;  // heuristic, engine config, plan
  cudnnHandle_t handle = nullptr;
  std::vector<int64_t> uids;  // variant pack
  std::vector<void*> pointers;
  void* workspace = nullptr;
};

size_t element_bytes(cudnnBackendAttributeType_t type) {
  switch (type) {
    case CUDNN_TYPE_HANDLE:
      return sizeof(cudnnHandle_t);
    case CUDNN_TYPE_DATA_TYPE:
      return sizeof(cudnnDataType_t);
    case CUDNN_TYPE_BOOLEAN:
      return sizeof(bool);
    case CUDNN_TYPE_INT64:
      return sizeof(int64_t);
    case CUDNN_TYPE_FLOAT:
      return sizeof(float);
    case CUDNN_TYPE_VOID_PTR:
      return sizeof(void*);
    case CUDNN_TYPE_HEUR_MODE:
      return sizeof(cudnnBackendHeurMode_t);
    case CUDNN_TYPE_BACKEND_DESCRIPTOR:
      return sizeof(cudnnBackendDescriptor_t);
  }
  return 0;
}

// The attributes each descriptor type takes from the caller, with their types.
bool settable(cudnnBackendDescriptorType_t d, cudnnBackendAttributeName_t name,
              cudnnBackendAttributeType_t& type) {
  switch (d) {
    case CUDNN_BACKEND_TENSOR_DESCRIPTOR:
      switch (name) {
        case CUDNN_ATTR_TENSOR_DATA_TYPE:
          return type = CUDNN_TYPE_DATA_TYPE, true;
        case CUDNN_ATTR_TENSOR_IS_VIRTUAL:
        case CUDNN_ATTR_TENSOR_IS_BY_VALUE:
          return type = CUDNN_TYPE_BOOLEAN, true;
        case CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT:
        case CUDNN_ATTR_TENSOR_DIMENSIONS:
        case CUDNN_ATTR_TENSOR_STRIDES:
        case CUDNN_ATTR_TENSOR_UNIQUE_ID:
          return type = CUDNN_TYPE_INT64, true;
        default:
          return false;
      }
    case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR:
      type = CUDNN_TYPE_BACKEND_DESCRIPTOR;
      return name >= CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC &&
             name <= CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC;
    case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR:
      if (name == CUDNN_ATTR_OPERATIONGRAPH_HANDLE) return type = CUDNN_TYPE_HANDLE, true;
      return type = CUDNN_TYPE_BACKEND_DESCRIPTOR, name == CUDNN_ATTR_OPERATIONGRAPH_OPS;
    case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR:
      if (name == CUDNN_ATTR_ENGINEHEUR_MODE) return type = CUDNN_TYPE_HEUR_MODE, true;
      return type = CUDNN_TYPE_BACKEND_DESCRIPTOR, name == CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH;
    case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR:
      if (name == CUDNN_ATTR_EXECUTION_PLAN_HANDLE) return type = CUDNN_TYPE_HANDLE, true;
      return type = CUDNN_TYPE_BACKEND_DESCRIPTOR, name == CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG;
    case CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR:
      if (name == CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS) return type = CUDNN_TYPE_INT64, true;
      return type = CUDNN_TYPE_VOID_PTR, name == CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS ||
                                             name == CUDNN_ATTR_VARIANT_PACK_WORKSPACE;
    default:
      return false;
  }
}

Descriptor* live(cudnnBackendDescriptor_t d) {
  auto* x = static_cast<Descriptor*>(d);
  return x && x->magic == kMagic ? x : nullptr;
}

template <typename T>
std::vector<T> values(const Descriptor& d, cudnnBackendAttributeName_t name) {
  const auto it = d.attributes.find(name);
  if (it == d.attributes.end()) return {};
  std::vector<T> out(static_cast<size_t>(it->second.count));
  std::memcpy(out.data(), it->second.bytes.data(), it->second.bytes.size());
  return out;
}

template <typename T>
bool one(const Descriptor& d, cudnnBackendAttributeName_t name, T& out) {
  const auto it = d.attributes.find(name);
  // T may be a handle (a pointer): the pointer's own bytes are the attribute's value.
  constexpr size_t kBytes = sizeof(T);  // NOLINT(bugprone-sizeof-expression)
  if (it == d.attributes.end() || it->second.count != 1 || it->second.bytes.size() != kBytes)
    return false;
  std::memcpy(&out, it->second.bytes.data(), kBytes);
  return true;
}

// A linked descriptor: live, of `type`, finalized.
Descriptor* linked(const Descriptor& d, cudnnBackendAttributeName_t name,
                   cudnnBackendDescriptorType_t type, const char* what) {
  cudnnBackendDescriptor_t raw = nullptr;
  if (!one(d, name, raw)) {
    say("cudnnBackendFinalize: %s is not set", what);
    return nullptr;
  }
  Descriptor* x = live(raw);
  if (!x || x->type != type || !x->finalized) {
    say("cudnnBackendFinalize: %s is not a finalized descriptor of the right type", what);
    return nullptr;
  }
  return x;
}

cudnnStatus_t finalize_tensor(Descriptor& t) {
  t.dims = values<int64_t>(t, CUDNN_ATTR_TENSOR_DIMENSIONS);
  t.strides = values<int64_t>(t, CUDNN_ATTR_TENSOR_STRIDES);
  if (!one(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, t.uid) ||
      !one(t, CUDNN_ATTR_TENSOR_DATA_TYPE, t.dtype) ||
      !one(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, t.alignment) || t.dims.empty() ||
      t.dims.size() != t.strides.size()) {
    say("cudnnBackendFinalize: a tensor needs its unique id, data type, byte alignment, and "
        "dimensions and strides of one rank");
    return CUDNN_STATUS_BAD_PARAM;
  }
  one(t, CUDNN_ATTR_TENSOR_IS_VIRTUAL, t.is_virtual);
  one(t, CUDNN_ATTR_TENSOR_IS_BY_VALUE, t.by_value);
  for (size_t i = 0; i < t.dims.size(); ++i)
    if (t.dims[i] < 1 || t.strides[i] < 1) {
      say("cudnnBackendFinalize: tensor %lld has dimension %lld or stride %lld below 1",
          static_cast<long long>(t.uid), static_cast<long long>(t.dims[i]),
          static_cast<long long>(t.strides[i]));
      return CUDNN_STATUS_BAD_PARAM;
    }
  if (t.alignment < 1 || (t.alignment & (t.alignment - 1)) != 0) return CUDNN_STATUS_BAD_PARAM;
  return CUDNN_STATUS_SUCCESS;
}

// What the fused engine takes: BF16 Q, K, V, O of [B, H, L, D] with D contiguous, a multiple of
// 8 and at most 256, K and V of one length, O of Q's shape; an F32 scale passed by value.
cudnnStatus_t finalize_sdpa(Descriptor& s) {
  s.q = linked(s, CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, CUDNN_BACKEND_TENSOR_DESCRIPTOR, "Q");
  s.k = linked(s, CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC, CUDNN_BACKEND_TENSOR_DESCRIPTOR, "K");
  s.v = linked(s, CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, CUDNN_BACKEND_TENSOR_DESCRIPTOR, "V");
  s.o = linked(s, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC, CUDNN_BACKEND_TENSOR_DESCRIPTOR, "O");
  s.scale = linked(s, CUDNN_ATTR_OPERATION_SDPA_FWD_SCALEDESC, CUDNN_BACKEND_TENSOR_DESCRIPTOR,
                   "the scale");
  if (!s.q || !s.k || !s.v || !s.o || !s.scale) return CUDNN_STATUS_BAD_PARAM;
  for (const Descriptor* t : {s.q, s.k, s.v, s.o}) {
    if (t->dtype != CUDNN_DATA_BFLOAT16) return CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE;
    if (t->dims.size() != 4 || t->by_value || t->is_virtual) return CUDNN_STATUS_BAD_PARAM;
    if (t->strides[3] != 1) return CUDNN_STATUS_NOT_SUPPORTED_LAYOUT;
  }
  const auto& q = s.q->dims;
  const int64_t d = q[3];
  const bool shapes = s.k->dims == std::vector<int64_t>{q[0], q[1], s.k->dims[2], d} &&
                      s.v->dims == s.k->dims && s.o->dims == q;
  if (!shapes) {
    say("cudnnBackendFinalize: SDPA operands of mismatched shapes");
    return CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH;
  }
  if (d % 8 != 0 || d > 256) return CUDNN_STATUS_NOT_SUPPORTED_SHAPE;
  const Descriptor& sc = *s.scale;
  for (int64_t n : sc.dims)
    if (n != 1) return CUDNN_STATUS_BAD_PARAM;
  if (sc.dtype != CUDNN_DATA_FLOAT || !sc.by_value) {
    say("cudnnBackendFinalize: the SDPA scale must be an F32 scalar passed by value");
    return CUDNN_STATUS_BAD_PARAM;
  }
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t finalize(Descriptor& x) {
  switch (x.type) {
    case CUDNN_BACKEND_TENSOR_DESCRIPTOR:
      return finalize_tensor(x);
    case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR:
      return finalize_sdpa(x);
    case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR: {
      const auto ops = values<cudnnBackendDescriptor_t>(x, CUDNN_ATTR_OPERATIONGRAPH_OPS);
      if (!one(x, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, x.handle) || ops.size() != 1) {
        say("cudnnBackendFinalize: the graph needs its handle and (here) exactly one operation");
        return CUDNN_STATUS_BAD_PARAM;
      }
      x.op = live(ops[0]);
      if (!x.op || x.op->type != CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR || !x.op->finalized)
        return CUDNN_STATUS_BAD_PARAM;
      return CUDNN_STATUS_SUCCESS;
    }
    case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR: {
      cudnnBackendHeurMode_t mode;
      x.graph = linked(x, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH,
                       CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR, "the heuristic's graph");
      return x.graph && one(x, CUDNN_ATTR_ENGINEHEUR_MODE, mode) ? CUDNN_STATUS_SUCCESS
                                                                 : CUDNN_STATUS_BAD_PARAM;
    }
    case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR: {
      const Descriptor* config = linked(x, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                                        CUDNN_BACKEND_ENGINECFG_DESCRIPTOR, "the plan's engine");
      if (!config) return CUDNN_STATUS_BAD_PARAM;
      x.graph = config->graph;
      one(x, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, x.handle);
      if (misbehave("prerequisite")) {
        last_error_text = "emulated: the engine's run-time compiler is missing";
        return CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING;
      }
      return CUDNN_STATUS_SUCCESS;
    }
    case CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR: {
      x.uids = values<int64_t>(x, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS);
      x.pointers = values<void*>(x, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS);
      one(x, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, x.workspace);
      if (x.uids.empty() || x.uids.size() != x.pointers.size()) {
        say("cudnnBackendFinalize: a variant pack needs as many data pointers as unique ids");
        return CUDNN_STATUS_BAD_PARAM;
      }
      return CUDNN_STATUS_SUCCESS;
    }
    default:  // an engine config is filled by the heuristic, never finalized by the caller
      return CUDNN_STATUS_BAD_PARAM;
  }
}

// The bytes a device tensor spans from its first element.
size_t span_bytes(const Descriptor& t) {
  int64_t last = 0;
  for (size_t i = 0; i < t.dims.size(); ++i) last += (t.dims[i] - 1) * t.strides[i];
  return static_cast<size_t>(last + 1) * (t.dtype == CUDNN_DATA_FLOAT ? 4 : 2);
}

bool operand_ok(const Descriptor& t, const void* p, int device) {
  const auto a = find_allocation(p, span_bytes(t));
  if (!a || a->device != device) {
    say("cudnnBackendExecute: tensor %lld (%p, %zu bytes) is not inside device %d's memory",
        static_cast<long long>(t.uid), p, span_bytes(t), device);
    return false;
  }
  if (reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(t.alignment) != 0) {
    say("cudnnBackendExecute: tensor %lld at %p is less aligned than its declared %lld bytes",
        static_cast<long long>(t.uid), p, static_cast<long long>(t.alignment));
    return false;
  }
  touched_on_default_stream(p);
  return true;
}

// One head's rows of a [B, H, L, D] tensor widened to F32, [L, D].
std::vector<float> rows(const Descriptor& t, const void* base, int64_t b, int64_t h) {
  const int64_t len = t.dims[2], d = t.dims[3];
  std::vector<float> out(static_cast<size_t>(len * d));
  const auto* p = static_cast<const __nv_bfloat16*>(base) + b * t.strides[0] + h * t.strides[1];
  for (int64_t i = 0; i < len; ++i)
    for (int64_t c = 0; c < d; ++c) out[i * d + c] = __bfloat162float(p[i * t.strides[2] + c]);
  return out;
}

void attend(const Descriptor& s, const void* q, const void* k, const void* v, void* o,
            float scale) {
  const int64_t B = s.q->dims[0], H = s.q->dims[1], Lq = s.q->dims[2], Lk = s.k->dims[2],
                D = s.q->dims[3];
  std::vector<float> p(static_cast<size_t>(Lk)), acc(static_cast<size_t>(D));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h) {
      const auto qr = rows(*s.q, q, b, h), kr = rows(*s.k, k, b, h), vr = rows(*s.v, v, b, h);
      auto* out = static_cast<__nv_bfloat16*>(o) + b * s.o->strides[0] + h * s.o->strides[1];
      for (int64_t i = 0; i < Lq; ++i) {
        float m = -INFINITY;
        for (int64_t j = 0; j < Lk; ++j) {
          p[j] = scale * dot_in_order(&qr[i * D], &kr[j * D], static_cast<uint64_t>(D));
          m = std::max(m, p[j]);
        }
        float l = 0.0f;
        for (int64_t j = 0; j < Lk; ++j) l += p[j] = std::exp(p[j] - m);
        std::fill(acc.begin(), acc.end(), 0.0f);
        for (int64_t j = 0; j < Lk; ++j)
          for (int64_t c = 0; c < D; ++c) acc[c] = std::fma(p[j], vr[j * D + c], acc[c]);
        for (int64_t c = 0; c < D; ++c)
          out[i * s.o->strides[2] + c] = __float2bfloat16_rn(acc[c] / l);
      }
    }
}

}  // namespace

size_t cudnnGetVersion(void) {
  return 91900;
}

const char* cudnnGetErrorString(cudnnStatus_t status) {
  switch (status) {
    case CUDNN_STATUS_SUCCESS:
      return "CUDNN_STATUS_SUCCESS";
    case CUDNN_STATUS_NOT_INITIALIZED:
      return "CUDNN_STATUS_NOT_INITIALIZED";
    case CUDNN_STATUS_BAD_PARAM:
      return "CUDNN_STATUS_BAD_PARAM";
    case CUDNN_STATUS_BAD_PARAM_NULL_POINTER:
      return "CUDNN_STATUS_BAD_PARAM_NULL_POINTER";
    case CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER:
      return "CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER";
    case CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED:
      return "CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED";
    case CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND:
      return "CUDNN_STATUS_BAD_PARAM_OUT_OF_BOUND";
    case CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH:
      return "CUDNN_STATUS_BAD_PARAM_SHAPE_MISMATCH";
    case CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE:
      return "CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE";
    case CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE:
      return "CUDNN_STATUS_BAD_PARAM_DESCRIPTOR_TYPE";
    case CUDNN_STATUS_NOT_SUPPORTED:
      return "CUDNN_STATUS_NOT_SUPPORTED";
    case CUDNN_STATUS_NOT_SUPPORTED_SHAPE:
      return "CUDNN_STATUS_NOT_SUPPORTED_SHAPE";
    case CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE:
      return "CUDNN_STATUS_NOT_SUPPORTED_DATA_TYPE";
    case CUDNN_STATUS_NOT_SUPPORTED_LAYOUT:
      return "CUDNN_STATUS_NOT_SUPPORTED_LAYOUT";
    case CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN:
      return "CUDNN_STATUS_NOT_SUPPORTED_GRAPH_PATTERN";
    case CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER:
      return "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDA_DRIVER";
    case CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART:
      return "CUDNN_STATUS_NOT_SUPPORTED_INCOMPATIBLE_CUDART";
    case CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH:
      return "CUDNN_STATUS_NOT_SUPPORTED_ARCH_MISMATCH";
    case CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING:
      return "CUDNN_STATUS_NOT_SUPPORTED_RUNTIME_PREREQUISITE_MISSING";
    case CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE:
      return "CUDNN_STATUS_NOT_SUPPORTED_SUBLIBRARY_UNAVAILABLE";
    case CUDNN_STATUS_EXECUTION_FAILED:
      return "CUDNN_STATUS_EXECUTION_FAILED";
  }
  return "CUDNN_STATUS_UNKNOWN";
}

void cudnnGetLastErrorString(char* message, size_t max_size) {
  if (!message || max_size == 0) return;
  const size_t n = std::min(max_size - 1, last_error_text.size());
  std::memcpy(message, last_error_text.data(), n);
  message[n] = '\0';
  last_error_text.clear();
}

cudnnStatus_t cudnnCreate(cudnnHandle_t* handle) {
  if (!handle) return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
  if (device_count() == 0) return CUDNN_STATUS_NOT_INITIALIZED;
  *handle = new cudnnContext{current_device()};
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnDestroy(cudnnHandle_t handle) {
  delete handle;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t) {
  return handle ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
}

cudnnStatus_t cudnnBackendCreateDescriptor(cudnnBackendDescriptorType_t type,
                                           cudnnBackendDescriptor_t* descriptor) {
  if (!descriptor) return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
  switch (type) {
    case CUDNN_BACKEND_ENGINECFG_DESCRIPTOR:
    case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR:
    case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR:
    case CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR:
    case CUDNN_BACKEND_TENSOR_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR:
      break;
    default:
      say("cudnnBackendCreateDescriptor: descriptor type %d is not emulated", type);
      return CUDNN_STATUS_NOT_SUPPORTED;
  }
  auto* d = new Descriptor;
  d->type = type;
  *descriptor = d;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendDestroyDescriptor(cudnnBackendDescriptor_t descriptor) {
  Descriptor* d = live(descriptor);
  if (!d) {
    say("cudnnBackendDestroyDescriptor: %p is not a live descriptor", descriptor);
    return CUDNN_STATUS_BAD_PARAM;
  }
  d->magic = 0;
  delete d;
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendSetAttribute(cudnnBackendDescriptor_t descriptor,
                                       cudnnBackendAttributeName_t name,
                                       cudnnBackendAttributeType_t type, int64_t count,
                                       const void* elements) {
  Descriptor* d = live(descriptor);
  if (!d || !elements || count < 1) return CUDNN_STATUS_BAD_PARAM;
  if (d->finalized) {
    say("cudnnBackendSetAttribute: attribute %d of a finalized descriptor", name);
    return CUDNN_STATUS_BAD_PARAM;
  }
  cudnnBackendAttributeType_t expected;
  if (!settable(d->type, name, expected)) {
    say("cudnnBackendSetAttribute: descriptor type %d has no attribute %d to set", d->type, name);
    return CUDNN_STATUS_BAD_PARAM;
  }
  if (type != expected) {
    say("cudnnBackendSetAttribute: attribute %d takes type %d, not %d", name, expected, type);
    return CUDNN_STATUS_BAD_PARAM_ATTRIBUTE_TYPE;
  }
  Value v{type, {}, count};
  const auto* p = static_cast<const unsigned char*>(elements);
  v.bytes.assign(p, p + count * element_bytes(type));
  d->attributes[name] = std::move(v);
  return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendFinalize(cudnnBackendDescriptor_t descriptor) {
  Descriptor* d = live(descriptor);
  if (!d || d->finalized) return CUDNN_STATUS_BAD_PARAM;
  const cudnnStatus_t status = finalize(*d);
  d->finalized = status == CUDNN_STATUS_SUCCESS;
  return status;
}

cudnnStatus_t cudnnBackendGetAttribute(cudnnBackendDescriptor_t descriptor,
                                       cudnnBackendAttributeName_t name,
                                       cudnnBackendAttributeType_t type, int64_t requested,
                                       int64_t* count, void* elements) {
  const Descriptor* d = live(descriptor);
  if (!d) return CUDNN_STATUS_BAD_PARAM;
  if (!d->finalized) return CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED;
  if (d->type == CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR && name == CUDNN_ATTR_ENGINEHEUR_RESULTS &&
      type == CUDNN_TYPE_BACKEND_DESCRIPTOR) {
    if (count) *count = misbehave("decline") ? 0 : 1;  // one engine: this emulator's
    if (requested < 1 || misbehave("decline")) return CUDNN_STATUS_SUCCESS;
    if (misbehave("filter")) {
      if (count) *count = 0;
      return CUDNN_STATUS_SUCCESS;
    }
    Descriptor* config = live(static_cast<cudnnBackendDescriptor_t*>(elements)[0]);
    if (!config || config->type != CUDNN_BACKEND_ENGINECFG_DESCRIPTOR) {
      say("cudnnBackendGetAttribute: heuristic results go into created engine configs");
      return CUDNN_STATUS_BAD_PARAM;
    }
    config->graph = d->graph;
    config->finalized = true;
    return CUDNN_STATUS_SUCCESS;
  }
  if (d->type == CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR &&
      name == CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE && type == CUDNN_TYPE_INT64 &&
      requested >= 1 && elements) {
    if (count) *count = 1;
    *static_cast<int64_t*>(elements) = kPlanWorkspaceBytes;
    return CUDNN_STATUS_SUCCESS;
  }
  say("cudnnBackendGetAttribute: attribute %d of descriptor type %d is not emulated", name,
      d->type);
  return CUDNN_STATUS_NOT_SUPPORTED;
}

cudnnStatus_t cudnnBackendExecute(cudnnHandle_t handle, cudnnBackendDescriptor_t plan_d,
                                  cudnnBackendDescriptor_t pack_d) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  const Descriptor* plan = live(plan_d);
  const Descriptor* pack = live(pack_d);
  if (!handle || !plan || !pack || plan->type != CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR ||
      pack->type != CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR)
    return CUDNN_STATUS_BAD_PARAM;
  if (!plan->finalized || !pack->finalized) return CUDNN_STATUS_BAD_PARAM_NOT_FINALIZED;
  if (handle->device != current_device()) {
    say("cudnnBackendExecute: the handle is device %d's, device %d is current", handle->device,
        current_device());
    return CUDNN_STATUS_BAD_PARAM;
  }
  const Descriptor& s = *plan->graph->op;
  const auto pointer = [&](const Descriptor& t) -> void* {
    for (size_t i = 0; i < pack->uids.size(); ++i)
      if (pack->uids[i] == t.uid) return pack->pointers[i];
    return nullptr;
  };
  for (const Descriptor* t : {s.q, s.k, s.v, s.o, s.scale})
    if (!pointer(*t)) {
      say("cudnnBackendExecute: the variant pack has no pointer for tensor %lld",
          static_cast<long long>(t->uid));
      return CUDNN_STATUS_BAD_PARAM;
    }
  const int device = handle->device;
  for (const Descriptor* t : {s.q, s.k, s.v, s.o})
    if (!operand_ok(*t, pointer(*t), device)) return CUDNN_STATUS_BAD_PARAM;
  if (in_arena(pointer(*s.scale))) {
    say("cudnnBackendExecute: the scale is passed by value: a host pointer, not device memory");
    return CUDNN_STATUS_BAD_PARAM;
  }
  const auto ws = find_allocation(pack->workspace, kPlanWorkspaceBytes);
  if (!ws || ws->device != device) {
    say("cudnnBackendExecute: the workspace (%p) is not %lld bytes of device %d's memory",
        pack->workspace, static_cast<long long>(kPlanWorkspaceBytes), device);
    return CUDNN_STATUS_BAD_PARAM;
  }
  if (misbehave("fail-execute")) return CUDNN_STATUS_EXECUTION_FAILED;
  if (memory_only()) return CUDNN_STATUS_SUCCESS;
  const float scale = *static_cast<const float*>(pointer(*s.scale));
  const DeviceAccess open;
  attend(s, pointer(*s.q), pointer(*s.k), pointer(*s.v), pointer(*s.o), scale);
  return CUDNN_STATUS_SUCCESS;
}
