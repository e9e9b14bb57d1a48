#include "pipeline/flow_match_scheduler.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace mova {

FlowMatchPairScheduler::FlowMatchPairScheduler(const SchedulerConfig& config) : config_(config) {
  // Upstream builds the training grid first, with the config's own shift.
  train_sigmas_ = sigmas(config_.num_train_timesteps);
  train_timesteps_ = timesteps(config_.num_train_timesteps);
}

std::vector<float> FlowMatchPairScheduler::sigmas(int64_t steps) const {
  MOVA_CHECK(steps >= 1 && steps <= 100000, ErrorKind::kInvalidArgument, "steps must be in [1, ",
             100000, "], got ", steps);
  const SchedulerConfig& c = config_;
  const double start = c.sigma_min + (c.sigma_max - c.sigma_min);  // denoising strength 1
  // linspace(start, sigma_min, n) — over n+1 points with the last dropped for extra_one_step.
  const int64_t points = c.extra_one_step ? steps + 1 : steps;
  std::vector<double> s(steps);
  for (int64_t i = 0; i < steps; ++i)
    s[i] =
        points == 1 ? start : start + (c.sigma_min - start) * static_cast<double>(i) / (points - 1);
  if (c.inverse_timesteps) std::reverse(s.begin(), s.end());
  for (double& v : s) {
    if (c.exponential_shift) {
      MOVA_CHECK(c.exponential_shift_mu.has_value(), ErrorKind::kUnsupported,
                 "scheduler: exponential_shift needs exponential_shift_mu (dynamic shift from the "
                 "sequence length is not supported)");
      const double e = std::exp(*c.exponential_shift_mu);
      v = e / (e + (1.0 / v - 1.0));
    } else {
      v = c.shift * v / (1.0 + (c.shift - 1.0) * v);
    }
  }
  if (c.shift_terminal) {
    const double scale = (1.0 - s.back()) / (1.0 - *c.shift_terminal);
    for (double& v : s) v = 1.0 - (1.0 - v) / scale;
  }
  if (c.reverse_sigmas)
    for (double& v : s) v = 1.0 - v;
  return std::vector<float>(s.begin(), s.end());
}

std::vector<float> FlowMatchPairScheduler::timesteps(int64_t steps) const {
  std::vector<float> t = sigmas(steps);
  for (float& v : t) v *= static_cast<float>(config_.num_train_timesteps);
  return t;
}

float FlowMatchPairScheduler::timestep_to_sigma(float t) const {
  size_t best = 0;
  float best_dist = INFINITY;
  for (size_t i = 0; i < train_timesteps_.size(); ++i) {
    const float d = std::fabs(train_timesteps_[i] - t);
    if (d < best_dist) {  // first index wins ties, as torch.argmin does
      best_dist = d;
      best = i;
    }
  }
  return train_sigmas_[best];
}

float FlowMatchPairScheduler::step_delta(float t_from, std::optional<float> t_to) const {
  const float end = config_.inverse_timesteps || config_.reverse_sigmas ? 1.0f : 0.0f;
  const float to = t_to ? timestep_to_sigma(*t_to) : end;
  return to - timestep_to_sigma(t_from);
}

int64_t FlowMatchPairScheduler::expert_switch_step(const std::vector<float>& timesteps,
                                                   double boundary_ratio) const {
  const double boundary = boundary_ratio * static_cast<double>(config_.num_train_timesteps);
  for (size_t i = 0; i < timesteps.size(); ++i)
    if (timesteps[i] < boundary) return static_cast<int64_t>(i);
  return static_cast<int64_t>(timesteps.size());
}

}  // namespace mova
