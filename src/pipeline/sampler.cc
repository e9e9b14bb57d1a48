#include "pipeline/sampler.h"

#include "runtime/error.h"
#include "runtime/ops/elementwise.h"

namespace mova {
namespace {

// neg + cfg·(pos − neg), in f32 as upstream.
Tensor guide(Exec& ex, const Tensor& pos, const Tensor& neg, float cfg) {
  return add(ex, neg, affine(ex, sub(ex, pos, neg), cfg, 0.0f));
}

}  // namespace

SampleResult sample(Exec& ex, const JointDenoiser& denoiser, const FlowMatchPairScheduler& sched,
                    const SampleRequest& r, const StepCallback& on_step) {
  const auto t = sched.timesteps(r.steps);
  const int64_t switch_at = sched.expert_switch_step(t, r.boundary_ratio);
  const bool guided = r.cfg != 1.0f;
  MOVA_CHECK(!guided || (r.negative_context.defined() && r.negative_context.dim() == 3),
             ErrorKind::kInvalidArgument, "cfg ", r.cfg, " needs a negative context");
  Tensor video = r.video_noise.to(DType::kF32).contiguous();
  Tensor audio = r.audio_noise.to(DType::kF32).contiguous();
  JointDenoiser::Text text, negative_text;  // for the expert in use
  for (int64_t i = 0; i < r.steps; ++i) {
    const int expert = i < switch_at ? 1 : 2;
    if (text.expert != expert) {
      text = denoiser.prepare_text(ex, expert, r.context);
      if (guided) negative_text = denoiser.prepare_text(ex, expert, r.negative_context);
    }
    // Both timestep columns are equal with the published (unshifted) pair schedule.
    Velocities v =
        denoiser.step(ex, text, video, r.video_condition, audio, t[i], t[i], r.video_fps);
    if (guided) {
      const Velocities n = denoiser.step(ex, negative_text, video, r.video_condition, audio, t[i],
                                         t[i], r.video_fps);
      v.video = guide(ex, v.video, n.video, r.cfg);
      v.audio = guide(ex, v.audio, n.audio, r.cfg);
    }
    const std::optional<float> next =
        i + 1 < r.steps ? std::optional<float>(t[i + 1]) : std::nullopt;
    const float delta = sched.step_delta(t[i], next);
    video = add(ex, video, affine(ex, v.video, delta, 0.0f));
    audio = add(ex, audio, affine(ex, v.audio, delta, 0.0f));
    if (on_step && !on_step(i, r.steps, expert)) fail(ErrorKind::kAborted, "sampling aborted");
  }
  return {video, audio};
}

}  // namespace mova
