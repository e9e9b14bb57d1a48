// audio_vae/config.json (MOVA's continuous DAC, dac_vae.py). Defaults are upstream's
// constructor defaults; the published model uses 48 kHz, rates [2,3,4,5,8] (hop 960).
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "models/tensor_layout.h"

namespace mova {

class JsonConfig;

struct DacConfig {
  int64_t encoder_dim = 64;
  std::vector<int64_t> encoder_rates = {2, 4, 8, 8};
  int64_t latent_dim = 0;  // 0: encoder_dim · 2^len(encoder_rates) (config null)
  int64_t decoder_dim = 1536;
  std::vector<int64_t> decoder_rates = {8, 8, 4, 2};
  int64_t sample_rate = 44100;
  bool continuous = false;
  // How convolutions are stored: weight_g/weight_v (torch's legacy weight_norm), the newer
  // parametrizations.weight.original0/original1 (g/v), or a plain folded `weight`. Set from
  // use_weight_norm, then from what the checkpoint actually holds (Checkpoint::audio_vae_config).
  enum class ConvStorage { kWeightNorm, kParametrized, kFolded };
  ConvStorage conv_storage = ConvStorage::kWeightNorm;
  const char* conv_storage_name() const;

  static DacConfig from_json(const JsonConfig& j);
  nlohmann::json to_json() const;
  int64_t latent_channels() const;
  // Samples per latent step: the product of encoder_rates (960 for the published model). Any
  // hop_length key in config.json is ignored, as upstream does.
  int64_t hop_length() const;
  TensorLayout layout() const;
};

}  // namespace mova
