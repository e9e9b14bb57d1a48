// The paired flow-matching schedule against tools/reference/flow_match_reference.py (upstream's
// formulas in torch float32). Timesteps: 1e-5 relative; step deltas (σ_to − σ_from via the
// training-grid lookup): 1e-6 absolute; expert switch index: exact.
#include <gtest/gtest.h>

#include "pipeline/flow_match_scheduler.h"
#include "python_reference.h"
#include "test_util.h"

namespace mova {
namespace {

struct Case {
  int64_t steps;
  double shift;
  bool extra_one_step;
  double sigma_min;
  bool inverse = false;
  bool reverse = false;
};

void compare(const Case& c) {
  SchedulerConfig cfg;
  cfg.shift = c.shift;
  cfg.extra_one_step = c.extra_one_step;
  cfg.sigma_min = c.sigma_min;
  cfg.inverse_timesteps = c.inverse;
  cfg.reverse_sigmas = c.reverse;
  const FlowMatchPairScheduler sched(cfg);
  std::string args = "--steps " + std::to_string(c.steps) + " --shift " + std::to_string(c.shift) +
                     " --sigma-min " + std::to_string(c.sigma_min);
  if (c.extra_one_step) args += " --extra-one-step";
  if (c.inverse) args += " --inverse-timesteps";
  if (c.reverse) args += " --reverse-sigmas";
  const auto ref = test::run_reference("tools/reference/flow_match_reference.py", args);
  ASSERT_TRUE(ref.has_value());
  const auto t = sched.timesteps(c.steps);
  ASSERT_EQ(t.size(), (*ref)["timesteps"].size());
  for (size_t i = 0; i < t.size(); ++i) {
    const double r = (*ref)["timesteps"][i];
    EXPECT_NEAR(t[i], r, 1e-5 * std::fabs(r) + 1e-5) << args << " step " << i;
    const std::optional<float> next =
        i + 1 < t.size() ? std::optional<float>(t[i + 1]) : std::nullopt;
    EXPECT_NEAR(sched.step_delta(t[i], next), (*ref)["deltas"][i].get<double>(), 1e-6)
        << args << " step " << i;
  }
  EXPECT_EQ(sched.expert_switch_step(t, 0.9), (*ref)["switch"].get<int64_t>()) << args;
}

TEST(FlowMatchScheduler, MatchesReference) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  compare({50, 5.0, true, 0.003 / 1.002});  // published
  compare({7, 5.0, true, 0.003 / 1.002});   // 999 % 6 != 0: grid snapping matters
  compare({5, 5.0, true, 0.0});
  compare({13, 3.0, false, 0.003 / 1.002});
  compare({1, 5.0, true, 0.003 / 1.002});
  compare({2, 5.0, false, 0.003 / 1.002});
  compare({9, 2.0, true, 0.003 / 1.002, true, false});
  compare({9, 2.0, true, 0.003 / 1.002, false, true});
}

TEST(FlowMatchScheduler, PublishedScheduleFacts) {
  SchedulerConfig cfg;
  cfg.shift = 5.0;
  cfg.extra_one_step = true;
  const FlowMatchPairScheduler sched(cfg);
  const auto t = sched.timesteps(50);
  EXPECT_FLOAT_EQ(t[0], 1000.0f);
  // 18 of 50 steps have t >= 900 and use the high-noise expert (upstream, run by hand).
  EXPECT_EQ(sched.expert_switch_step(t, 0.9), 18);
  // The last step lands exactly on sigma 0.
  EXPECT_FLOAT_EQ(sched.step_delta(t.back(), std::nullopt), -sched.timestep_to_sigma(t.back()));
  test::expect_error([&] { sched.timesteps(0); }, {"steps"});
}

}  // namespace
}  // namespace mova
