// dual_tower_bridge/config.json (upstream DualTowerConditionalBridge, interactionv2.py).
// Defaults are upstream's constructor defaults; the published checkpoint overrides most.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/tensor_layout.h"

namespace mova {

class JsonConfig;

struct BridgeConfig {
  int64_t visual_layers = 30;
  int64_t audio_layers = 30;
  int64_t visual_hidden_dim = 3072;
  int64_t audio_hidden_dim = 1536;
  int64_t head_dim = 128;
  double audio_fps = 44100.0 / 2048.0;
  std::string interaction_strategy = "shallow_focus";
  bool apply_cross_rope = false;
  bool apply_first_frame_bias_in_rope = false;
  bool trainable_condition_scale = false;
  bool pooled_adaln = false;

  static BridgeConfig from_json(const JsonConfig& j);
  nlohmann::json to_json() const;
  // Layer indices that get a conditioner, the same list for both directions.
  std::vector<int64_t> interaction_layers() const;
  TensorLayout layout() const;
};

}  // namespace mova
