#include "api/open_device.h"

#include "runtime/error.h"
#if MOVA_WITH_CUDA
#include "runtime/cuda/cuda_backend.h"
#endif

namespace mova {

std::unique_ptr<Backend> open_device(Device device, Precision precision) {
  if (device.is_cpu()) return nullptr;
#if MOVA_WITH_CUDA
  return cuda::open_backend(device.index, precision);
#else
  (void)precision;
  fail(ErrorKind::kUnsupported, "--device ", device.str(),
       ": this mova was built without the CUDA backend (configure with -DMOVA_CUDA=ON)");
#endif
}

const char* device_choices() {
#if MOVA_WITH_CUDA
  return "cpu, cuda or cuda:N";
#else
  return "cpu (this build has no CUDA backend)";
#endif
}

}  // namespace mova
