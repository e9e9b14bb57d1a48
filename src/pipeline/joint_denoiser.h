// One joint model evaluation of MOVA: a video expert and the audio DiT run layer by layer,
// with the bridge exchanging information before each shared layer (upstream
// MOVA.forward_dual_tower_dit). Returns both raw velocities; CFG and the sampler live in
// sampler.h.
#pragma once

#include <memory>

#include "models/bridge.h"
#include "models/checkpoint.h"
#include "models/wan_dit.h"

namespace mova {

struct Velocities {
  Tensor video;  // [1, 16, T, H, W]
  Tensor audio;  // [1, C, L]
};

class JointDenoiser {
 public:
  // Loads (memory-maps) both video experts, the audio DiT and the bridge, validating each, and
  // places them on `device` (their weights are copied there on first use). A non-zero
  // `device_weight_budget` (bytes) caps what the four keep there: the least recently used
  // weights are dropped and uploaded again when next needed (io/device_weight_cache.h).
  explicit JointDenoiser(const Checkpoint& checkpoint, Device device = Device::cpu(),
                         uint64_t device_weight_budget = 0);

  // The denoiser's device copies (null on the CPU): upload figures for progress and benches.
  const DeviceWeightCache* device_weights() const { return cache_.get(); }

  // expert: 1 = video_dit (high noise), 2 = video_dit_2 (low noise).
  // video_latents [1, 16, T, H, W], video_condition [1, 20, T, H, W] (concatenated after the
  // latents: 36 input channels), audio_latents [1, C, L], context [1, S, text_dim]. Inputs may
  // be on the host; the velocities are returned on the host.
  Velocities step(Exec& ex, int expert, const Tensor& video_latents, const Tensor& video_condition,
                  const Tensor& audio_latents, const Tensor& context, float timestep,
                  float audio_timestep, double video_fps) const;

  const WanDit& video_expert(int expert) const;
  const WanDit& audio() const { return *audio_; }

 private:
  std::unique_ptr<WanDit> video_[2];
  std::unique_ptr<WanDit> audio_;
  std::unique_ptr<DualTowerBridge> bridge_;
  std::shared_ptr<DeviceWeightCache> cache_;
};

}  // namespace mova
