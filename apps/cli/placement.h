// Where the models run and in what arithmetic: the options `mova generate` and `mova serve`
// share (--device, --text-device, --vae-device, --precision, --device-weights-gib).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>

#include "runtime/backend.h"
#include "runtime/device.h"

namespace mova::cli {

struct Placement {
  Device device, text_device, vae_device;
  Precision precision = Precision::kBF16;
  int64_t device_weights_mib = 0;  // 0: no limit
};

struct PlacementOptions {
  std::string device = "cpu", text_device, vae_device;  // empty: --device's
  std::optional<std::string> precision;
  double device_weights_gib = 0;

  void add_to(CLI::App& cmd);
  // Parses and checks the values, naming the option at fault.
  Placement resolve() const;
};

}  // namespace mova::cli
