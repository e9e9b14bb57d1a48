// scheduler/scheduler_config.json (upstream FlowMatchPairScheduler, flow_match_pair.py).
// Defaults are upstream's constructor defaults; the published file sets shift 5 and
// extra_one_step true.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>

namespace mova {

class JsonConfig;

struct SchedulerConfig {
  int64_t num_inference_steps = 100;
  int64_t num_train_timesteps = 1000;
  double shift = 3.0;
  double sigma_max = 1.0;
  double sigma_min = 0.003 / 1.002;
  bool inverse_timesteps = false;
  bool extra_one_step = false;
  bool reverse_sigmas = false;
  bool exponential_shift = false;
  std::optional<double> exponential_shift_mu;
  std::optional<double> shift_terminal;

  static SchedulerConfig from_json(const JsonConfig& j);
  nlohmann::json to_json() const;
};

}  // namespace mova
