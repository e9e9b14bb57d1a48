// A headers-only summary of a checkpoint folder: per component its status (ok, absent, or the
// validation error), files, tensor and parameter counts, bytes per dtype and key config
// values. Backs `mova info` and mova_model_info_json().
#pragma once

#include <nlohmann/json.hpp>

#include "models/checkpoint.h"

namespace mova {

// Never throws for problems inside a component: they are reported in its "error" field.
nlohmann::json describe_checkpoint(const Checkpoint& ckpt);

}  // namespace mova
