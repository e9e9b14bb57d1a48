#include "api/open_device.h"

#include <algorithm>

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

std::vector<std::unique_ptr<Backend>> open_devices(std::initializer_list<Device> devices,
                                                   Precision precision) {
  std::vector<Device> opened;
  std::vector<std::unique_ptr<Backend>> backends;
  for (const Device d : devices) {
    if (d.is_cpu() || std::find(opened.begin(), opened.end(), d) != opened.end()) continue;
    opened.push_back(d);
    backends.push_back(open_device(d, precision));
  }
  return backends;
}

Precision choose_precision(const std::optional<std::string>& text,
                           std::initializer_list<Device> devices, const std::string& option,
                           Precision fallback) {
  if (!text) return fallback;
  const Precision precision = parse_precision(*text, option);
  const bool on_gpu =
      std::any_of(devices.begin(), devices.end(), [](Device d) { return !d.is_cpu(); });
  MOVA_CHECK(on_gpu || precision == Precision::kF32, ErrorKind::kInvalidArgument, option, " ",
             *text, ": nothing runs on a GPU, and the CPU computes in F32");
  return precision;
}

const char* device_choices() {
#if MOVA_WITH_CUDA
  return "cpu, cuda or cuda:N";
#else
  return "cpu (this build has no CUDA backend)";
#endif
}

}  // namespace mova
