// The Wan-style DiT of MOVA's towers: video experts (WanModel, video_dit/ and video_dit_2/)
// and the audio DiT (WanAudioModel, audio_dit/). Weights are views into the memory-mapped
// checkpoint, named as in upstream's state_dict(); the math follows docs/upstream/dit.md.
// It runs where its weights are placed (WeightSet::place_on): inputs are moved there, and
// states and outputs stay there.
//
// The forward pass is split into begin / block / end so the joint denoiser can run the bridge
// between blocks of the two towers.
#pragma once

#include <vector>

#include "io/weight_set.h"
#include "models/wan_dit_config.h"
#include "runtime/exec.h"
#include "runtime/ops/rope.h"
#include "runtime/tensor.h"

namespace mova {

class WanDit {
 public:
  // Checks nothing beyond names: validate the weights against config.layout() first
  // (Checkpoint::weights does).
  WanDit(WanDitConfig config, WeightSet weights);

  struct State {
    Tensor x;        // [1, L, dim] hidden tokens
    Tensor context;  // [1, S, dim] embedded text
    Tensor t_emb;    // [1, dim]
    Tensor t_mod;    // [1, 6, dim]
    RopeAngles rope;
    Shape grid;  // token grid: (f, h, w) for video, (f) for audio
  };

  // latents: video [1, in_dim, T, H, W] or audio [1, in_dim, L]; timestep: the scheduler's
  // 0..1000 value; context: [1, S, text_dim] (padded rows zero, all attended).
  State begin(Exec& ex, const Tensor& latents, float timestep, const Tensor& context) const;
  void block(Exec& ex, int64_t index, State& state) const;
  // The velocity in the latent layout: [1, out_dim, T, H, W] or [1, out_dim, L].
  Tensor end(Exec& ex, const State& state) const;
  Tensor forward(Exec& ex, const Tensor& latents, float timestep, const Tensor& context) const;

  const WanDitConfig& config() const { return config_; }
  Device device() const { return weights_.device(); }

 private:
  Tensor w(const std::string& name) const { return weights_.get(name); }
  Tensor patchify(Exec& ex, const Tensor& latents, Shape& grid) const;
  Tensor unpatchify(const Tensor& tokens, const Shape& grid) const;
  RopeAngles rope_angles(const Shape& grid) const;
  Tensor attention_block(Exec& ex, const std::string& prefix, const Tensor& x,
                         const Tensor& kv_source, const RopeAngles* rope) const;

  WanDitConfig config_;
  WeightSet weights_;
};

// The sinusoidal timestep embedding: [cos(t·ω_i) ..., sin(t·ω_i) ...], ω_i = 10000^(-i/half),
// computed in float64 as upstream, returned as F32 [1, dim].
Tensor sinusoidal_embedding(double t, int64_t dim);

}  // namespace mova
