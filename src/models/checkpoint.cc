#include "models/checkpoint.h"

#include <filesystem>

#include "io/atomic_file.h"
#include "runtime/error.h"
#include "runtime/log.h"

namespace mova {
namespace fs = std::filesystem;

const std::vector<ComponentDesc>& all_components() {
  static const std::vector<ComponentDesc> table = {
      {Component::kTextEncoder, "text_encoder", "transformers", "UMT5EncoderModel", true},
      {Component::kTokenizer, "tokenizer", "transformers", "T5TokenizerFast", false},
      {Component::kVideoDit, "video_dit", "mova.diffusion.models.wan_video_dit", "WanModel", true},
      {Component::kVideoDit2, "video_dit_2", "mova.diffusion.models.wan_video_dit", "WanModel",
       true},
      {Component::kAudioDit, "audio_dit", "mova.diffusion.models.wan_audio_dit", "WanAudioModel",
       true},
      {Component::kBridge, "dual_tower_bridge", "mova.diffusion.models.interactionv2",
       "DualTowerConditionalBridge", true},
      {Component::kVideoVae, "video_vae", "diffusers", "AutoencoderKLWan", true},
      {Component::kAudioVae, "audio_vae", "mova.diffusion.models.dac_vae", "DAC", true},
      {Component::kScheduler, "scheduler", "mova.diffusion.schedulers.flow_match_pair",
       "FlowMatchPairScheduler", false},
  };
  return table;
}

const ComponentDesc& component_desc(Component c) {
  for (const auto& d : all_components())
    if (d.id == c) return d;
  fail(ErrorKind::kInternal, "unknown component");
}

ModelIndex ModelIndex::load(const std::string& path) {
  return from_json(JsonConfig::load(path));
}

ModelIndex ModelIndex::from_json(const JsonConfig& j) {
  const std::string& path = j.origin();
  ModelIndex idx;
  for (auto it = j.json().begin(); it != j.json().end(); ++it) {
    const auto& v = it.value();
    if (v.is_array() && v.size() == 2 && v[0].is_string() && v[1].is_string())
      idx.components[it.key()] = {v[0].get<std::string>(), v[1].get<std::string>()};
  }
  idx.boundary_ratio = j.get_double("boundary_ratio", idx.boundary_ratio);
  idx.audio_vae_type = j.get_string("audio_vae_type", idx.audio_vae_type);
  j.check_range("boundary_ratio", idx.boundary_ratio, 0.0, 1.0);
  if (j.has("mova_cpp_defaults")) {
    const JsonConfig d(j.json()["mova_cpp_defaults"], path + ": mova_cpp_defaults");
    idx.defaults.width = d.get_int("width", 0);
    idx.defaults.height = d.get_int("height", 0);
    idx.defaults.frames = d.get_int("frames", 0);
    idx.defaults.steps = d.get_int("steps", 0);
    idx.defaults.fps = d.get_double("fps", 0);
    idx.defaults.cfg = d.get_double("cfg", 0);
  }
  MOVA_CHECK(idx.audio_vae_type == "dac", ErrorKind::kUnsupported, path, ": audio_vae_type '",
             idx.audio_vae_type, "' is not supported (MOVA uses \"dac\")");
  MOVA_CHECK(!idx.components.empty(), ErrorKind::kFormat, path,
             ": lists no components (not a MOVA model_index.json?)");
  return idx;
}

nlohmann::json ModelIndex::published_json(double boundary_ratio) {
  nlohmann::json j = {{"_class_name", "MOVA"},
                      {"_diffusers_version", "0.36.0"},
                      {"audio_vae_type", "dac"},
                      {"boundary_ratio", boundary_ratio}};
  for (const auto& d : all_components()) j[d.folder] = {d.library, d.class_name};
  return j;
}

Checkpoint Checkpoint::open(const std::string& dir) {
  std::error_code ec;
  MOVA_CHECK(fs::is_directory(dir, ec), ErrorKind::kIo, dir, ": not a folder");
  const fs::path index = fs::path(dir) / "model_index.json";
  MOVA_CHECK(fs::exists(index, ec), ErrorKind::kIo, dir,
             ": no model_index.json (not a MOVA checkpoint folder)");
  Checkpoint c;
  c.dir_ = dir;
  c.index_ = ModelIndex::load(index.string());
  return c;
}

std::string Checkpoint::folder(Component c) const {
  return (fs::path(dir_) / component_desc(c).folder).string();
}

bool Checkpoint::present(Component c) const {
  std::error_code ec;
  return index_.components.count(component_desc(c).folder) && fs::is_directory(folder(c), ec);
}

void Checkpoint::require(Component c, const std::string& purpose) const {
  const char* name = component_desc(c).folder;
  MOVA_CHECK(index_.components.count(name), ErrorKind::kFormat, dir_,
             "/model_index.json does not list '", name, "' (needed for ", purpose, ")");
  MOVA_CHECK(present(c), ErrorKind::kIo, folder(c), " is missing (needed for ", purpose, ")");
}

JsonConfig Checkpoint::config(Component c) const {
  require(c, "its config");
  const char* file = c == Component::kScheduler ? "scheduler_config.json" : "config.json";
  return JsonConfig::load((fs::path(folder(c)) / file).string());
}

WanDitConfig Checkpoint::video_dit_config(Component expert) const {
  MOVA_ASSERT(expert == Component::kVideoDit || expert == Component::kVideoDit2);
  return WanDitConfig::from_json(config(expert), false);
}
WanDitConfig Checkpoint::audio_dit_config() const {
  return WanDitConfig::from_json(config(Component::kAudioDit), true);
}
BridgeConfig Checkpoint::bridge_config() const {
  return BridgeConfig::from_json(config(Component::kBridge));
}
WanVaeConfig Checkpoint::video_vae_config() const {
  return WanVaeConfig::from_json(config(Component::kVideoVae));
}
Umt5Config Checkpoint::text_encoder_config() const {
  return Umt5Config::from_json(config(Component::kTextEncoder));
}
SchedulerConfig Checkpoint::scheduler_config() const {
  return SchedulerConfig::from_json(config(Component::kScheduler));
}

namespace {

// Upstream saves weight-normalised convs as weight_g/weight_v; newer torch as
// parametrizations; an export after folding the norm has plain `weight`. The first conv
// tells which.
void detect_conv_storage(DacConfig& c, const WeightSet& w) {
  if (w.contains("encoder.block.0.weight_v")) {
    c.conv_storage = DacConfig::ConvStorage::kWeightNorm;
  } else if (w.contains("encoder.block.0.parametrizations.weight.original1")) {
    c.conv_storage = DacConfig::ConvStorage::kParametrized;
  } else if (w.contains("encoder.block.0.weight")) {
    c.conv_storage = DacConfig::ConvStorage::kFolded;
  }
}

}  // namespace

DacConfig Checkpoint::audio_vae_config() const {
  DacConfig c = DacConfig::from_json(config(Component::kAudioVae));
  if (folder_has_weights(folder(Component::kAudioVae)))
    detect_conv_storage(c, WeightSet::open_folder(folder(Component::kAudioVae)));
  return c;
}

TensorLayout Checkpoint::layout(Component c) const {
  const ComponentDesc& d = component_desc(c);
  if (!d.has_weights) return {};
  return layout_for(c, WeightSet::open_folder(folder(c)));
}

TensorLayout Checkpoint::layout_for(Component c, const WeightSet& present) const {
  switch (c) {
    case Component::kVideoDit:
    case Component::kVideoDit2:
      return video_dit_config(c).layout();
    case Component::kAudioDit:
      return audio_dit_config().layout();
    case Component::kBridge:
      return bridge_config().layout();
    case Component::kVideoVae:
      return video_vae_config().layout();
    case Component::kAudioVae: {
      DacConfig dac = DacConfig::from_json(config(c));
      detect_conv_storage(dac, present);
      return dac.layout();
    }
    case Component::kTextEncoder: {
      const bool shared = present.contains("shared.weight");
      const bool embed = present.contains("encoder.embed_tokens.weight");
      return text_encoder_config().layout(shared || !embed, embed);
    }
    case Component::kTokenizer:
    case Component::kScheduler:
      return {};
  }
  return {};
}

WeightSet Checkpoint::weights(Component c, Device device) const {
  WeightSet w = weights(c);
  w.place_on(device);
  return w;
}

WeightSet Checkpoint::weights(Component c) const {
  const ComponentDesc& d = component_desc(c);
  MOVA_CHECK(d.has_weights, ErrorKind::kInternal, d.folder, " has no weights");
  require(c, "its weights");
  WeightSet w = WeightSet::open_folder(folder(c));
  check_layout(w, layout_for(c, w), folder(c));
  if (log_level() <= LogLevel::kDebug) {
    uint64_t bytes = 0;
    for (const auto& f : w.files()) bytes += f->file_size();
    MOVA_LOG_DEBUG("loaded ", d.folder, ": ", w.size(), " tensors in ", w.files().size(),
                   " file(s), ", static_cast<double>(bytes) / (1 << 20), " MiB memory-mapped");
  }
  return w;
}

}  // namespace mova
