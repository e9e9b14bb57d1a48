// Opening a device for the models (`--device cpu|cuda[:N]`, mova_generate_params.device). Lives
// above the engine (mova_api), the one library that links every backend this build has.
#pragma once

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/backend.h"

namespace mova {

// The backend for `device`, registered while the result lives; null for the CPU. A CUDA device
// needs a build with the CUDA backend (-DMOVA_CUDA=ON) and a GPU: otherwise a kUnsupported
// error says which is missing.
std::unique_ptr<Backend> open_device(Device device, Precision precision = Precision::kF32);
// Each distinct device of `devices` opened once (per-component placement names one several
// times).
std::vector<std::unique_ptr<Backend>> open_devices(std::initializer_list<Device> devices,
                                                   Precision precision = Precision::kF32);

// The precision of the GPU backends for a job placed on `devices`: `text` ("f32" or "bf16";
// absent: `fallback`). An explicit "bf16" when every device is the CPU is a kInvalidArgument
// error naming `option`: the CPU computes in F32, and silently ignoring the request would
// misreport the result's numerics.
Precision choose_precision(const std::optional<std::string>& text,
                           std::initializer_list<Device> devices, const std::string& option,
                           Precision fallback);

// The devices this build can open, for help texts: "cpu" or "cpu, cuda[:N]".
const char* device_choices();

}  // namespace mova
