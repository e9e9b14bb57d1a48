// A MOVA checkpoint folder exactly as published on Hugging Face:
//   model_index.json, text_encoder/ tokenizer/ video_dit/ video_dit_2/ audio_dit/
//   dual_tower_bridge/ video_vae/ audio_vae/ scheduler/
// Opening reads model_index.json only. Each component's config and weight headers are read
// when asked for, so a command needs only the components it uses; a missing component is an
// error only then, naming the folder and what needed it.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/json_config.h"
#include "io/weight_set.h"
#include "models/bridge_config.h"
#include "models/dac_config.h"
#include "models/scheduler_config.h"
#include "models/tensor_layout.h"
#include "models/umt5_config.h"
#include "models/wan_dit_config.h"
#include "models/wan_vae_config.h"

namespace mova {

enum class Component {
  kTextEncoder,
  kTokenizer,
  kVideoDit,
  kVideoDit2,
  kAudioDit,
  kBridge,
  kVideoVae,
  kAudioVae,
  kScheduler,
};

struct ComponentDesc {
  Component id;
  const char* folder;   // also the model_index.json key
  const char* library;  // model_index.json [library, class]
  const char* class_name;
  bool has_weights;
};

const std::vector<ComponentDesc>& all_components();
const ComponentDesc& component_desc(Component c);

struct ModelIndex {
  std::map<std::string, std::pair<std::string, std::string>> components;  // key -> [lib, class]
  double boundary_ratio = 0.9;
  std::string audio_vae_type = "dac";
  // Optional "mova_cpp_defaults" object (our extension; absent from the published files):
  // generation defaults a model ships with, e.g. the nano model's small frame size. 0 = unset.
  struct Defaults {
    int64_t width = 0, height = 0, frames = 0, steps = 0;
    double fps = 0, cfg = 0;
  } defaults;

  static ModelIndex load(const std::string& path);
  static ModelIndex from_json(const JsonConfig& j);  // errors name j.origin()
  static nlohmann::json published_json(double boundary_ratio = 0.9);
};

class Checkpoint {
 public:
  // Throws naming the folder when it does not exist or has no valid model_index.json.
  static Checkpoint open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const ModelIndex& index() const { return index_; }
  std::string folder(Component c) const;
  // Listed in model_index.json and its folder exists.
  bool present(Component c) const;
  // Throws "DIR/audio_vae is missing (needed for PURPOSE)" when not present.
  void require(Component c, const std::string& purpose) const;

  JsonConfig config(Component c) const;  // config.json, or scheduler/scheduler_config.json
  WanDitConfig video_dit_config(Component expert) const;
  WanDitConfig audio_dit_config() const;
  BridgeConfig bridge_config() const;
  WanVaeConfig video_vae_config() const;
  // Also detects how the convolutions are stored (weight_g/weight_v or fused weight).
  DacConfig audio_vae_config() const;
  Umt5Config text_encoder_config() const;
  SchedulerConfig scheduler_config() const;

  // The tensors the component's config implies.
  TensorLayout layout(Component c) const;
  // Opens the component's weights and checks them against layout(c): one error listing every
  // missing, unexpected or mis-shaped tensor.
  WeightSet weights(Component c) const;
  // The same, placed on `device` (WeightSet::place_on): the model built on them runs there.
  WeightSet weights(Component c, Device device) const;

 private:
  // The layout for weights already opened (which names the checkpoint uses decides a few
  // optional forms: tied embeddings, DAC conv storage).
  TensorLayout layout_for(Component c, const WeightSet& present) const;

  std::string dir_;
  ModelIndex index_;
};

}  // namespace mova
