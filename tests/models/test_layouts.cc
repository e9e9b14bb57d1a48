// Expected tensor layouts at the PUBLISHED configs, held against independent facts:
// - the VAE key lists in tests/data were dumped from upstream's own modules (diffusers
//   AutoencoderKLWan and MOVA's DAC) instantiated at the published configs;
// - the UMT5-XXL parameter total is the `total_parameters` of the published
//   text_encoder/model.safetensors.index.json;
// - the bridge count comes from instantiating upstream's DualTowerConditionalBridge.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "io/json_config.h"
#include "models/bridge_config.h"
#include "models/dac_config.h"
#include "models/umt5_config.h"
#include "models/wan_dit_config.h"
#include "models/wan_vae_config.h"
#include "test_util.h"

namespace mova {
namespace {

std::map<std::string, std::string> read_fixture(const std::string& name) {
  std::ifstream in(std::string(MOVA_SOURCE_DIR) + "/tests/data/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::map<std::string, std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    const size_t sp = line.find(' ');
    out[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return out;
}

void expect_layout_equals(const TensorLayout& l, const std::map<std::string, std::string>& ref) {
  EXPECT_EQ(l.specs().size(), ref.size());
  for (const auto& s : l.specs()) {
    auto it = ref.find(s.name);
    ASSERT_NE(it, ref.end()) << "unexpected " << s.name;
    EXPECT_EQ(shape_str(s.shape), it->second) << s.name;
  }
}

JsonConfig cfg(const nlohmann::json& j) {
  return JsonConfig(j, "test config.json");
}

TEST(PublishedLayout, WanVideoVae) {
  const nlohmann::json published = {{"base_dim", 96},
                                    {"z_dim", 16},
                                    {"dim_mult", {1, 2, 4, 4}},
                                    {"num_res_blocks", 2},
                                    {"attn_scales", nlohmann::json::array()},
                                    {"temperal_downsample", {false, true, true}},
                                    {"latents_mean", std::vector<double>(16, 0.0)},
                                    {"latents_std", std::vector<double>(16, 1.0)}};
  const TensorLayout l = WanVaeConfig::from_json(cfg(published)).layout();
  expect_layout_equals(l, read_fixture("published_video_vae_layout.txt"));
  EXPECT_EQ(l.parameter_count(), 126892531);
}

TEST(PublishedLayout, DacAudioVae) {
  const nlohmann::json published = {
      {"encoder_dim", 128},  {"encoder_rates", {2, 3, 4, 5, 8}}, {"latent_dim", 128},
      {"decoder_dim", 2048}, {"decoder_rates", {8, 5, 4, 3, 2}}, {"sample_rate", 48000},
      {"continuous", true}};
  const DacConfig c = DacConfig::from_json(cfg(published));
  EXPECT_EQ(c.hop_length(), 960);
  const TensorLayout l = c.layout();
  expect_layout_equals(l, read_fixture("published_audio_vae_layout.txt"));
  EXPECT_EQ(l.parameter_count(), 371589058);
}

TEST(PublishedLayout, Umt5XxlEncoder) {
  const nlohmann::json published = {{"vocab_size", 256384},
                                    {"d_model", 4096},
                                    {"d_kv", 64},
                                    {"d_ff", 10240},
                                    {"num_layers", 24},
                                    {"num_heads", 64},
                                    {"feed_forward_proj", "gated-gelu"}};
  const TensorLayout l = Umt5Config::from_json(cfg(published)).layout();
  EXPECT_EQ(l.specs().size(), 242u);
  EXPECT_EQ(l.parameter_count(), 5680910336);  // published index.json total_parameters
}

TEST(PublishedLayout, Bridge) {
  const nlohmann::json published = {{"visual_layers", 40},
                                    {"audio_layers", 30},
                                    {"visual_hidden_dim", 5120},
                                    {"audio_hidden_dim", 1536},
                                    {"head_dim", 128},
                                    {"audio_fps", 50.0},
                                    {"interaction_strategy", "full"},
                                    {"apply_cross_rope", true}};
  const BridgeConfig c = BridgeConfig::from_json(cfg(published));
  EXPECT_EQ(c.interaction_layers().size(), 30u);
  const TensorLayout l = c.layout();
  EXPECT_EQ(l.specs().size(), 720u);
  EXPECT_EQ(l.parameter_count(), 2659737600);
  const TensorSpec* k = l.find("video_to_audio_conditioners.29.inner.k.weight");
  ASSERT_NE(k, nullptr);
  EXPECT_EQ(k->shape, (Shape{1536, 5120}));
}

TEST(PublishedLayout, BridgeStrategies) {
  BridgeConfig c;
  c.visual_layers = c.audio_layers = 30;
  c.interaction_strategy = "shallow_focus";
  EXPECT_EQ(c.interaction_layers(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  c.interaction_strategy = "progressive";
  EXPECT_EQ(c.interaction_layers().size(), 8u + 8u);  // 0..7 then 8, 11, ..., 29
  c.interaction_strategy = "custom";
  EXPECT_EQ(c.interaction_layers().back(), 20);
  c.interaction_strategy = "bogus";
  test::expect_error([&] { c.interaction_layers(); }, {"unknown interaction_strategy 'bogus'"});
}

TEST(PublishedLayout, VideoDitShapes) {
  const nlohmann::json published = {
      {"dim", 5120},     {"in_dim", 36},     {"ffn_dim", 13824},
      {"out_dim", 16},   {"text_dim", 4096}, {"freq_dim", 256},
      {"num_heads", 40}, {"num_layers", 40}, {"patch_size", {1, 2, 2}}};
  const WanDitConfig c = WanDitConfig::from_json(cfg(published), false);
  EXPECT_EQ(c.head_dim(), 128);
  const TensorLayout l = c.layout();
  EXPECT_EQ(l.find("patch_embedding.weight")->shape, (Shape{5120, 36, 1, 2, 2}));
  EXPECT_EQ(l.find("head.head.weight")->shape, (Shape{64, 5120}));
  EXPECT_EQ(l.find("blocks.39.modulation")->shape, (Shape{1, 6, 5120}));
  EXPECT_EQ(l.find("blocks.0.norm1.weight"), nullptr);  // affine-free LayerNorm
  // ~14B parameters per expert, as published.
  EXPECT_GT(l.parameter_count(), 14.0e9);
  EXPECT_LT(l.parameter_count(), 14.5e9);
}

TEST(ConfigErrors, NameFileAndField) {
  test::expect_error(
      [] {
        WanDitConfig::from_json(cfg({{"dim", "big"}}), false);
      },
      {"test config.json", "'dim'", "integer"});
  test::expect_error(
      [] {
        WanDitConfig::from_json(cfg({{"dim", 30},
                                     {"in_dim", 36},
                                     {"ffn_dim", 8},
                                     {"out_dim", 16},
                                     {"text_dim", 8},
                                     {"num_heads", 4},
                                     {"num_layers", 1}}),
                                false);
      },
      {"dim 30 is not divisible by num_heads 4"});
  test::expect_error(
      [] {
        WanVaeConfig::from_json(cfg({{"z_dim", 16}}));
      },
      {"missing field 'latents_mean'"});
  test::expect_error([] { DacConfig::from_json(cfg({{"continuous", false}})); }, {"continuous"});
  // Keys with which transformers' UMT5 would compute something other than UMT5-XXL does.
  const nlohmann::json umt5 = {{"vocab_size", 64}, {"d_model", 8},    {"d_kv", 4},
                               {"d_ff", 16},       {"num_layers", 1}, {"num_heads", 2}};
  EXPECT_NO_THROW(Umt5Config::from_json(cfg(umt5)));
  for (const auto& [key, value, message] :
       std::vector<std::tuple<std::string, nlohmann::json, std::string>>{
           {"dense_act_fn", "gelu", "dense_act_fn 'gelu' is not supported"},
           {"is_gated_act", false, "is_gated_act false"},
           {"is_decoder", true, "is_decoder true"}}) {
    nlohmann::json j = umt5;
    j[key] = value;
    test::expect_error([&] { Umt5Config::from_json(cfg(j)); }, {"test config.json", message});
  }
  nlohmann::json tanh = umt5;
  tanh["dense_act_fn"] = "gelu_pytorch_tanh";
  EXPECT_NO_THROW(Umt5Config::from_json(cfg(tanh)));
}

}  // namespace
}  // namespace mova
