// video_vae/config.json (diffusers AutoencoderKLWan, the Wan2.1 VAE with z_dim 16).
// Defaults are diffusers' constructor defaults; the published file lists only some fields.
#pragma once

#include <nlohmann/json.hpp>
#include <vector>

#include "models/tensor_layout.h"

namespace mova {

class JsonConfig;

struct WanVaeConfig {
  int64_t base_dim = 96;
  int64_t decoder_base_dim = 0;  // 0: same as base_dim (config null)
  int64_t z_dim = 16;
  std::vector<int64_t> dim_mult = {1, 2, 4, 4};
  int64_t num_res_blocks = 2;
  std::vector<bool> temperal_downsample = {false, true, true};  // sic: upstream's spelling
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  int64_t scale_factor_temporal = 4;
  int64_t scale_factor_spatial = 8;
  std::vector<double> latents_mean;  // z_dim values
  std::vector<double> latents_std;

  static WanVaeConfig from_json(const JsonConfig& j);
  nlohmann::json to_json() const;
  int64_t decoder_dim() const { return decoder_base_dim ? decoder_base_dim : base_dim; }
  // Encoder widths base·[1, mult...]; decoder widths dbase·[mult.back(), reversed mult...].
  std::vector<int64_t> encoder_dims() const;
  std::vector<int64_t> decoder_dims() const;
  TensorLayout layout() const;
};

}  // namespace mova
