// Feeds arbitrary text as a component's config.json or the model_index.json (checkpoint files a
// user downloads) to every config reader: the video and audio DiT, the bridge, both VAEs, the
// text encoder, the scheduler and the model index. Any input must give a config or throw
// mova::Error (never a crash, another exception, or undefined behaviour such as a division by a
// zero field).
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>

#include "io/json_config.h"
#include "models/bridge_config.h"
#include "models/checkpoint.h"
#include "models/dac_config.h"
#include "models/scheduler_config.h"
#include "models/umt5_config.h"
#include "models/wan_dit_config.h"
#include "models/wan_vae_config.h"
#include "runtime/error.h"

namespace {

template <typename Fn>
void expect_config_or_error(Fn&& fn) {
  try {
    fn();
  } catch (const mova::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  nlohmann::json json = nlohmann::json::parse(data, data + size, nullptr, false);
  if (json.is_discarded() || !json.is_object()) return 0;  // JsonConfig::load reports these
  const mova::JsonConfig j(std::move(json), "fuzz/config.json");
  // What the engine derives from an accepted config comes next: the tensor layout a checkpoint
  // is checked against, sizes and strides.
  for (const bool audio : {false, true})
    expect_config_or_error([&] {
      const auto c = mova::WanDitConfig::from_json(j, audio);
      (void)c.head_dim(), (void)c.patch_volume(), (void)c.layout();
    });
  expect_config_or_error([&] {
    const auto c = mova::BridgeConfig::from_json(j);
    (void)c.interaction_layers(), (void)c.layout();
  });
  expect_config_or_error([&] {
    const auto c = mova::WanVaeConfig::from_json(j);
    (void)c.encoder_dims(), (void)c.decoder_dims();
  });
  expect_config_or_error([&] {
    const auto c = mova::DacConfig::from_json(j);
    (void)c.latent_channels(), (void)c.hop_length(), (void)c.layout();
  });
  expect_config_or_error([&] {
    const auto c = mova::Umt5Config::from_json(j);
    (void)c.inner_dim(), (void)c.layout();
  });
  expect_config_or_error([&] { (void)mova::SchedulerConfig::from_json(j); });
  expect_config_or_error([&] { (void)mova::ModelIndex::from_json(j); });
  return 0;
}
