// config.json of the Wan-style DiTs: video_dit/ and video_dit_2/ (upstream WanModel,
// wan_video_dit.py) and audio_dit/ (WanAudioModel, wan_audio_dit.py). Both share the block
// structure; the audio model patchifies a 1-D sequence.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/tensor_layout.h"

namespace mova {

class JsonConfig;

struct WanDitConfig {
  bool audio = false;  // WanAudioModel (1-D patches) vs WanModel (3-D patches)
  int64_t dim = 0;
  int64_t in_dim = 0;
  int64_t ffn_dim = 0;
  int64_t out_dim = 0;
  int64_t text_dim = 0;
  int64_t freq_dim = 256;
  double eps = 1e-6;
  std::vector<int64_t> patch_size;  // (t, h, w) for video, (l) for audio
  int64_t num_heads = 0;
  int64_t num_layers = 0;
  bool has_image_input = false;
  std::string vae_type;  // audio only: "dac" selects the 1-D RoPE the published model uses

  static WanDitConfig from_json(const JsonConfig& j, bool audio);
  nlohmann::json to_json() const;
  int64_t head_dim() const { return dim / num_heads; }
  int64_t patch_volume() const;
  TensorLayout layout() const;
};

}  // namespace mova
