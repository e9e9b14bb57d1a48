#include "runtime/cuda/cudnn_library.h"

#include <dlfcn.h>

#include <cstdlib>
#include <string>

#include "runtime/error.h"

namespace mova::cuda {
namespace {

struct Loaded {
  CudnnApi api;
  bool ok = false;
  std::string description;
};

std::string version_text(size_t v) {
  return str_cat(v / 10000, ".", v / 100 % 100, ".", v % 100);
}

#ifdef MOVA_CUDA_EMULATOR

Loaded load_library(const std::string& /*file*/) {
  Loaded l;
  l.api = {cudnnGetVersion(),
           cudnnCreate,
           cudnnDestroy,
           cudnnSetStream,
           cudnnGetErrorString,
           cudnnGetLastErrorString,
           cudnnBackendCreateDescriptor,
           cudnnBackendDestroyDescriptor,
           cudnnBackendSetAttribute,
           cudnnBackendGetAttribute,
           cudnnBackendFinalize,
           cudnnBackendExecute};
  l.ok = true;
  l.description = str_cat("cuDNN ", version_text(l.api.version), " (the CUDA emulator's)");
  return l;
}

#else

constexpr size_t kFirstVersion = 91301;  // 9.13.1

template <typename Fn>
bool bind(void* library, const char* name, Fn& fn, std::string& missing) {
  fn = reinterpret_cast<Fn>(dlsym(library, name));
  if (!fn && missing.empty()) missing = name;
  return fn != nullptr;
}

Loaded load_library(const std::string& file) {
  Loaded l;
  // Never closed: plans and handles live until exit.
  void* library = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char* why = dlerror();
    l.description = str_cat("none (", why ? why : file.c_str(), ")");
    return l;
  }
  decltype(&cudnnGetVersion) get_version = nullptr;
  std::string missing;
  CudnnApi& a = l.api;
  bind(library, "cudnnGetVersion", get_version, missing);
  bind(library, "cudnnCreate", a.create, missing);
  bind(library, "cudnnDestroy", a.destroy, missing);
  bind(library, "cudnnSetStream", a.set_stream, missing);
  bind(library, "cudnnGetErrorString", a.error_string, missing);
  std::string optional;  // only adds detail to messages
  bind(library, "cudnnGetLastErrorString", a.last_error, optional);
  bind(library, "cudnnBackendCreateDescriptor", a.create_descriptor, missing);
  bind(library, "cudnnBackendDestroyDescriptor", a.destroy_descriptor, missing);
  bind(library, "cudnnBackendSetAttribute", a.set_attribute, missing);
  bind(library, "cudnnBackendGetAttribute", a.get_attribute, missing);
  bind(library, "cudnnBackendFinalize", a.finalize, missing);
  bind(library, "cudnnBackendExecute", a.execute, missing);
  if (!missing.empty()) {
    l.description = str_cat("none (", file, " has no ", missing, ")");
    return l;
  }
  a.version = get_version();
  // The graph API's SDPA operation and this calling convention are cuDNN 9's. The operation
  // appeared in 9.13.0, but NVIDIA's own frontend uses it only from 9.13.1 on.
  if (a.version < kFirstVersion || a.version >= 100000) {
    l.description = str_cat("none (", file, " is cuDNN ", version_text(a.version),
                            "; fused attention needs 9.x from ", version_text(kFirstVersion), ")");
    return l;
  }
  l.ok = true;
  l.description = str_cat("cuDNN ", version_text(a.version));
  return l;
}

#endif

Loaded load() {
  const char* choice = std::getenv("MOVA_CUDNN");
  const std::string file = choice && *choice ? choice : "libcudnn.so.9";
  if (file == "0") {
    Loaded l;
    l.description = "none (MOVA_CUDNN=0)";
    return l;
  }
  return load_library(file);
}

const Loaded& loaded() {
  static const Loaded l = load();
  return l;
}

}  // namespace

const CudnnApi* cudnn_api() {
  return loaded().ok ? &loaded().api : nullptr;
}

std::string cudnn_description() {
  return loaded().description;
}

}  // namespace mova::cuda
