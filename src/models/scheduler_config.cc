#include "models/scheduler_config.h"

#include "io/json_config.h"
#include "runtime/error.h"

namespace mova {

SchedulerConfig SchedulerConfig::from_json(const JsonConfig& j) {
  SchedulerConfig c;
  c.num_inference_steps = j.get_int("num_inference_steps", c.num_inference_steps);
  c.num_train_timesteps = j.get_int("num_train_timesteps", c.num_train_timesteps);
  c.shift = j.get_double("shift", c.shift);
  c.sigma_max = j.get_double("sigma_max", c.sigma_max);
  c.sigma_min = j.get_double("sigma_min", c.sigma_min);
  c.inverse_timesteps = j.get_bool("inverse_timesteps", c.inverse_timesteps);
  c.extra_one_step = j.get_bool("extra_one_step", c.extra_one_step);
  c.reverse_sigmas = j.get_bool("reverse_sigmas", c.reverse_sigmas);
  c.exponential_shift = j.get_bool("exponential_shift", c.exponential_shift);
  if (j.has("exponential_shift_mu")) c.exponential_shift_mu = j.get_double("exponential_shift_mu");
  if (j.has("shift_terminal")) c.shift_terminal = j.get_double("shift_terminal");
  j.check_range("num_train_timesteps", c.num_train_timesteps, 2, 1e6);
  j.check_range("shift", c.shift, 1e-6, 1e6);
  j.check_range("sigma_max", c.sigma_max, 0, 1);
  j.check_range("sigma_min", c.sigma_min, 0, c.sigma_max);
  return c;
}

nlohmann::json SchedulerConfig::to_json() const {
  nlohmann::json j = {{"_class_name", "FlowMatchPairScheduler"},
                      {"_diffusers_version", "0.36.0"},
                      {"num_inference_steps", num_inference_steps},
                      {"num_train_timesteps", num_train_timesteps},
                      {"shift", shift},
                      {"sigma_max", sigma_max},
                      {"sigma_min", sigma_min},
                      {"inverse_timesteps", inverse_timesteps},
                      {"extra_one_step", extra_one_step},
                      {"reverse_sigmas", reverse_sigmas},
                      {"exponential_shift", exponential_shift},
                      {"exponential_shift_mu", nullptr},
                      {"shift_terminal", nullptr}};
  if (exponential_shift_mu) j["exponential_shift_mu"] = *exponential_shift_mu;
  if (shift_terminal) j["shift_terminal"] = *shift_terminal;
  return j;
}

}  // namespace mova
