// The Wan2.1 causal 3-D video VAE (diffusers AutoencoderKLWan as MOVA uses it). Upstream runs
// it in chunks with cached conv state (encoder: frame 0, then 4-frame chunks; decoder: one
// latent frame at a time); because every conv is causal in time, norms are per position and
// attention is per frame, that equals one pass over the whole sequence, which is what this
// file computes (docs/upstream/vae.md, "full-sequence equivalent").
//
// Layout here is [C, T, H, W] (batch 1); the public entry points take upstream's
// [1, C, T, H, W].
#pragma once

#include "io/weight_set.h"
#include "models/wan_vae_config.h"
#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

class WanVae {
 public:
  WanVae(WanVaeConfig config, WeightSet weights);

  // video [1, 3, 1+4k, H, W] in [-1, 1] -> posterior mean [1, z, 1+k, H/8, W/8]
  // (not normalised with latents_mean/std).
  Tensor encode(Exec& ex, const Tensor& video) const;
  // latents [1, z, 1+k, h, w] (de-normalised) -> video [1, 3, 1+4k, 8h, 8w] clamped to [-1, 1].
  Tensor decode(Exec& ex, const Tensor& latents) const;

  // MOVA's first-frame condition (prepare_latents): [image, zero frames] encoded, normalised
  // (x − mean)/std, after a 4-channel mask that is 1 on latent frame 0: [1, 4+z, T, H/8, W/8].
  Tensor image_condition(Exec& ex, const Tensor& image, int64_t frames) const;

  const WanVaeConfig& config() const { return config_; }

 private:
  Tensor w(const std::string& name) const { return weights_.get(name); }
  Tensor causal_conv(Exec& ex, const Tensor& x, const std::string& name) const;
  Tensor rms(Exec& ex, const Tensor& x, const std::string& gamma) const;
  Tensor resblock(Exec& ex, const Tensor& x, const std::string& p) const;
  Tensor attention_block(Exec& ex, const Tensor& x, const std::string& p) const;
  Tensor mid_block(Exec& ex, const Tensor& x, const std::string& p) const;
  Tensor downsample(Exec& ex, const Tensor& x, const std::string& p, bool temporal) const;
  Tensor upsample(Exec& ex, const Tensor& x, const std::string& p, bool temporal) const;

  WanVaeConfig config_;
  WeightSet weights_;
};

}  // namespace mova
