// CUDA devices: how many there are, what they are, and making one current. A machine with
// no GPU or no driver has zero devices; asking for one then fails with a clear error.
#pragma once

#include <cstddef>
#include <string>

namespace mova::cuda {

struct DeviceInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  size_t total_bytes = 0;
  int multiprocessors = 0;
};

// Number of usable CUDA devices; 0 (never an error) without a GPU or a driver.
int device_count();

// Properties of device `index`; throws naming the index when there is no such device.
DeviceInfo device_info(int index);

// "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)".
std::string describe(const DeviceInfo& info);

// Makes `index` the calling thread's current device (checked as device_info does).
void set_device(int index);

// Makes `index` current for its lifetime and then restores the thread's previous device, so
// an allocation or free on another GPU in the middle of an op does not move the op's later
// launches there. Never throws (it also runs on free paths): ok() says whether it switched.
class ScopedDevice {
 public:
  explicit ScopedDevice(int index) noexcept;
  ~ScopedDevice();
  ScopedDevice(const ScopedDevice&) = delete;
  ScopedDevice& operator=(const ScopedDevice&) = delete;
  bool ok() const { return ok_; }

 private:
  int previous_ = -1;
  bool ok_ = false;
};

}  // namespace mova::cuda
