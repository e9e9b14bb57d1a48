// MOVA's paired flow-matching schedule (upstream FlowMatchPairScheduler): video and audio
// share one timestep column each; with the published config both columns are equal.
//
// Two things upstream does that a naive port gets wrong:
// - the update x_next = x + v·(σ_to − σ_from) takes σ from the 1000-point TRAINING grid
//   (nearest timestep), not from the inference schedule; the two differ unless the step
//   count divides the grid;
// - the last step goes to σ = 0 explicitly.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "models/scheduler_config.h"

namespace mova {

class FlowMatchPairScheduler {
 public:
  explicit FlowMatchPairScheduler(const SchedulerConfig& config);

  // σ and timestep (σ·num_train_timesteps) for `steps` inference steps, float32 as upstream.
  std::vector<float> sigmas(int64_t steps) const;
  std::vector<float> timesteps(int64_t steps) const;

  // σ of the training-grid point nearest to timestep t.
  float timestep_to_sigma(float t) const;
  // σ_to − σ_from for one step; t_to absent means the final step (σ_to = 0, or 1 when the
  // config inverts/reverses the schedule).
  float step_delta(float t_from, std::optional<float> t_to) const;

  // First step index whose timestep is strictly below boundary_ratio·num_train_timesteps:
  // the low-noise expert runs from there on. Returns timesteps.size() if it never switches.
  int64_t expert_switch_step(const std::vector<float>& timesteps, double boundary_ratio) const;

  const SchedulerConfig& config() const { return config_; }

 private:
  SchedulerConfig config_;
  std::vector<float> train_timesteps_;
  std::vector<float> train_sigmas_;
};

}  // namespace mova
