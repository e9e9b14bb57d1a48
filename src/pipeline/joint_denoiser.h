// One joint model evaluation of MOVA: a video expert and the audio DiT run layer by layer,
// with the bridge exchanging information before each shared layer (upstream
// MOVA.forward_dual_tower_dit). Returns both raw velocities; CFG and the sampler live in
// sampler.h.
#pragma once

#include <cstdint>
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
  // weights are dropped and uploaded again when next needed (io/device_weight_cache.h), the
  // next ones prefetched while the current block runs.
  explicit JointDenoiser(const Checkpoint& checkpoint, Device device = Device::cpu(),
                         uint64_t device_weight_budget = 0);

  // The denoiser's device copies (null on the CPU): upload figures for progress and benches.
  const DeviceWeightCache* device_weights() const { return cache_.get(); }
  // When the weights stream (a budget below their size, given or learned), each pass uploads
  // up to this much ahead of its use, beside the ops (at most a quarter of the budget): about
  // one published video block (700 MB in BF16), so the next block's weights arrive while
  // this one computes.
  static constexpr uint64_t kWeightPrefetchBytes = uint64_t{1} << 30;
  // Another prefetch size (0: none) for the device weights; benches compare the two.
  void set_weight_prefetch(uint64_t bytes) {
    if (cache_) cache_->set_prefetch(bytes);
  }

  // Another chunk size (tokens) for both video experts, the audio DiT and the bridge
  // (WanDit::set_chunk_tokens); benches compare the speed of chunked and whole passes.
  void set_chunk_tokens(int64_t tokens);

  // The text side of every pass with one expert and one context (WanDit::Text): prepared once
  // and reused by each step, it changes no value.
  struct Text {
    int expert = 0;  // 1 = video_dit (high noise), 2 = video_dit_2 (low noise)
    std::shared_ptr<const WanDit::Text> video, audio;
  };
  // context [1, S, text_dim]. A tower keeps its cross-attention keys and values when they take
  // at most kTextKvBudget bytes; above that they are recomputed by every pass. At the
  // published sizes the video expert's would take 840 MB per context in F32 (420 MB in BF16,
  // on a GPU's BF16 path) to save about 1 % of a pass (512 text tokens against 43,120 video
  // tokens), the audio DiT's 189 MB (94 MB); the nano model's take 4 MB in F32 and are a third
  // of its denoising work. Kept ones live on the tower's device, outside device_weight_budget.
  Text prepare_text(Exec& ex, int expert, const Tensor& context) const;
  static constexpr uint64_t kTextKvBudget = uint64_t{256} << 20;

  // video_latents [1, 16, T, H, W], video_condition [1, 20, T, H, W] (concatenated after the
  // latents: 36 input channels), audio_latents [1, C, L]. Inputs may be on the host; the
  // velocities are returned on the host.
  Velocities step(Exec& ex, const Text& text, const Tensor& video_latents,
                  const Tensor& video_condition, const Tensor& audio_latents, float timestep,
                  float audio_timestep, double video_fps) const;
  // One pass on its own: prepares the text for it (expert as in Text).
  Velocities step(Exec& ex, int expert, const Tensor& video_latents, const Tensor& video_condition,
                  const Tensor& audio_latents, const Tensor& context, float timestep,
                  float audio_timestep, double video_fps) const;

  const WanDit& video_expert(int expert) const;
  const WanDit& audio() const { return *audio_; }

 private:
  Velocities pass(Exec& ex, const Text& text, const Tensor& video_latents,
                  const Tensor& video_condition, const Tensor& audio_latents, float timestep,
                  float audio_timestep, double video_fps) const;

  std::unique_ptr<WanDit> video_[2];
  std::unique_ptr<WanDit> audio_;
  std::unique_ptr<DualTowerBridge> bridge_;
  std::shared_ptr<DeviceWeightCache> cache_;
};

}  // namespace mova
