#include "pipeline/joint_denoiser.h"

#include <algorithm>
#include <cstring>

#include "runtime/error.h"
#include "runtime/log.h"
#include "runtime/ops/concat.h"

namespace mova {

JointDenoiser::JointDenoiser(const Checkpoint& ckpt, Device device, uint64_t device_weight_budget) {
  if (!device.is_cpu()) {
    cache_ = std::make_shared<DeviceWeightCache>(device, device_weight_budget);
    cache_->set_prefetch(kWeightPrefetchBytes);
  }
  auto placed = [&](Component c) {
    WeightSet w = ckpt.weights(c);
    if (cache_) w.place_on(cache_);
    return w;
  };
  video_[0] = std::make_unique<WanDit>(ckpt.video_dit_config(Component::kVideoDit),
                                       placed(Component::kVideoDit));
  video_[1] = std::make_unique<WanDit>(ckpt.video_dit_config(Component::kVideoDit2),
                                       placed(Component::kVideoDit2));
  audio_ = std::make_unique<WanDit>(ckpt.audio_dit_config(), placed(Component::kAudioDit));
  bridge_ = std::make_unique<DualTowerBridge>(ckpt.bridge_config(), placed(Component::kBridge));
  const int64_t audio_layers = audio_->config().num_layers;
  for (int expert : {1, 2})
    if (const int64_t video_layers = video_expert(expert).config().num_layers;
        audio_layers > video_layers)
      MOVA_LOG_WARN("audio_dit has ", audio_layers, " blocks, ",
                    expert == 1 ? "video_dit " : "video_dit_2 ", video_layers,
                    ": as upstream's pipeline does, the audio blocks past the video tower's depth ",
                    "are not run with that expert");
}

void JointDenoiser::set_chunk_tokens(int64_t tokens) {
  for (auto& dit : video_) dit->set_chunk_tokens(tokens);
  audio_->set_chunk_tokens(tokens);
  bridge_->set_chunk_tokens(tokens);
}

const WanDit& JointDenoiser::video_expert(int expert) const {
  MOVA_CHECK(expert == 1 || expert == 2, ErrorKind::kInvalidArgument, "expert must be 1 or 2, got ",
             expert);
  return *video_[expert - 1];
}

JointDenoiser::Text JointDenoiser::prepare_text(Exec& ex, int expert, const Tensor& context) const {
  const WanDit& video = video_expert(expert);
  // Only the audio blocks a pass runs (pass() below): no deeper than the video tower.
  return {expert, video.prepare_text(ex, context, kTextKvBudget),
          audio_->prepare_text(ex, context, kTextKvBudget, video.config().num_layers)};
}

Velocities JointDenoiser::step(Exec& ex, int expert, const Tensor& video_latents,
                               const Tensor& video_condition, const Tensor& audio_latents,
                               const Tensor& context, float timestep, float audio_timestep,
                               double video_fps) const {
  if (cache_) cache_->begin_pass();
  return pass(ex, prepare_text(ex, expert, context), video_latents, video_condition, audio_latents,
              timestep, audio_timestep, video_fps);
}

Velocities JointDenoiser::step(Exec& ex, const Text& text, const Tensor& video_latents,
                               const Tensor& video_condition, const Tensor& audio_latents,
                               float timestep, float audio_timestep, double video_fps) const {
  MOVA_CHECK(text.video && text.audio, ErrorKind::kInvalidArgument,
             "denoiser step without prepared text");
  if (cache_) cache_->begin_pass();
  return pass(ex, text, video_latents, video_condition, audio_latents, timestep, audio_timestep,
              video_fps);
}

Velocities JointDenoiser::pass(Exec& ex, const Text& text, const Tensor& video_latents,
                               const Tensor& video_condition, const Tensor& audio_latents,
                               float timestep, float audio_timestep, double video_fps) const {
  const WanDit& video = video_expert(text.expert);
  const Tensor video_in = concat({video_latents, video_condition}, 1);
  WanDit::State vs = video.begin(ex, video_in, timestep, text.video);
  WanDit::State as = audio_->begin(ex, audio_latents.to(DType::kF32), audio_timestep, text.audio);
  const int64_t frames = vs.grid[0], per_frame = vs.grid[1] * vs.grid[2];
  const DualTowerBridge::Rope rope =
      bridge_->aligned_rope(frames, per_frame, as.grid[0], video_fps);
  const int64_t shared = std::min(video.config().num_layers, audio_->config().num_layers);
  for (int64_t l = 0; l < shared; ++l) {
    if (bridge_->interacts(l)) bridge_->apply(ex, l, vs.x, as.x, rope);
    video.block(ex, l, vs);
    audio_->block(ex, l, as);
  }
  // Upstream's forward_dual_tower_dit runs the video tower's remaining blocks only: audio
  // blocks past the video tower's depth are never run (the constructor warns of them).
  for (int64_t l = shared; l < video.config().num_layers; ++l) video.block(ex, l, vs);
  return {video.end(ex, vs).to(Device::cpu()), audio_->end(ex, as).to(Device::cpu())};
}

}  // namespace mova
