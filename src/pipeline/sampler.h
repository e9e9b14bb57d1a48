// The denoising loop (upstream MOVA.__call__ after the conditioning is prepared): paired
// flow-matching steps over video and audio latents, classifier-free guidance with two full
// joint passes per step, and the single switch from the high-noise to the low-noise expert.
#pragma once

#include <functional>

#include "pipeline/flow_match_scheduler.h"
#include "pipeline/joint_denoiser.h"

namespace mova {

struct SampleRequest {
  Tensor video_noise;       // [1, 16, T, H, W]
  Tensor audio_noise;       // [1, C, L]
  Tensor video_condition;   // [1, 20, T, H, W]
  Tensor context;           // [1, S, text_dim]
  Tensor negative_context;  // [1, S', text_dim]; unused when cfg == 1
  int64_t steps = 50;
  float cfg = 5.0f;
  double video_fps = 24.0;
  double boundary_ratio = 0.9;
};

struct SampleResult {
  Tensor video_latents;  // normalised latents, before the VAE's de-normalisation
  Tensor audio_latents;
};

// Called after each step with (step index, steps, expert used); return false to abort.
using StepCallback = std::function<bool(int64_t, int64_t, int)>;

SampleResult sample(Exec& ex, const JointDenoiser& denoiser, const FlowMatchPairScheduler& sched,
                    const SampleRequest& request, const StepCallback& on_step = {});

}  // namespace mova
