// cuDNN, loaded on first use (dlopen of libcudnn.so.9), never linked: a CUDA build runs without
// it, and the backend then uses its own kernels. Only the graph-API entry points the backend
// calls. The environment variable MOVA_CUDNN picks: unset, the loader's search path
// (LD_LIBRARY_PATH, the system's); a path, that file; 0, none (to compare against the own
// kernels or to rule cuDNN out). Under the CUDA emulator (tests/cuda_emulator) the entry points
// are the emulator's own.
#pragma once

#include <cudnn_graph.h>

#include <cstddef>
#include <string>

namespace mova::cuda {

struct CudnnApi {
  size_t version = 0;  // cudnnGetVersion(): 91900 for 9.19.0
  decltype(&cudnnCreate) create = nullptr;
  decltype(&cudnnDestroy) destroy = nullptr;
  decltype(&cudnnSetStream) set_stream = nullptr;
  decltype(&cudnnGetErrorString) error_string = nullptr;
  // The library's message for the latest error on this thread (cuDNN 9); null if it has none.
  decltype(&cudnnGetLastErrorString) last_error = nullptr;
  decltype(&cudnnBackendCreateDescriptor) create_descriptor = nullptr;
  decltype(&cudnnBackendDestroyDescriptor) destroy_descriptor = nullptr;
  decltype(&cudnnBackendSetAttribute) set_attribute = nullptr;
  decltype(&cudnnBackendGetAttribute) get_attribute = nullptr;
  decltype(&cudnnBackendFinalize) finalize = nullptr;
  decltype(&cudnnBackendExecute) execute = nullptr;
};

// The library's entry points, or null when it is not there; loaded once per process.
const CudnnApi* cudnn_api();

// "cuDNN 9.19.0", or why there is none ("MOVA_CUDNN=0", "libcudnn.so.9: cannot open ...").
std::string cudnn_description();

}  // namespace mova::cuda
