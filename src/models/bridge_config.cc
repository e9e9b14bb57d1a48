#include "models/bridge_config.h"

#include <algorithm>

#include "io/json_config.h"
#include "runtime/error.h"

namespace mova {

BridgeConfig BridgeConfig::from_json(const JsonConfig& j) {
  BridgeConfig c;
  c.visual_layers = j.get_int("visual_layers", c.visual_layers);
  c.audio_layers = j.get_int("audio_layers", c.audio_layers);
  c.visual_hidden_dim = j.get_int("visual_hidden_dim", c.visual_hidden_dim);
  c.audio_hidden_dim = j.get_int("audio_hidden_dim", c.audio_hidden_dim);
  c.head_dim = j.get_int("head_dim", c.head_dim);
  c.audio_fps = j.get_double("audio_fps", c.audio_fps);
  c.interaction_strategy = j.get_string("interaction_strategy", c.interaction_strategy);
  c.apply_cross_rope = j.get_bool("apply_cross_rope", c.apply_cross_rope);
  c.apply_first_frame_bias_in_rope =
      j.get_bool("apply_first_frame_bias_in_rope", c.apply_first_frame_bias_in_rope);
  c.trainable_condition_scale =
      j.get_bool("trainable_condition_scale", c.trainable_condition_scale);
  c.pooled_adaln = j.get_bool("pooled_adaln", c.pooled_adaln);

  j.check_range("visual_layers", c.visual_layers, 1, 1024);
  j.check_range("audio_layers", c.audio_layers, 1, 1024);
  j.check_range("head_dim", c.head_dim, 2, 1024);
  MOVA_CHECK(c.head_dim % 2 == 0, ErrorKind::kFormat, j.origin(), ": head_dim ", c.head_dim,
             " must be even (RoPE rotates pairs)");
  for (const char* key : {"visual_hidden_dim", "audio_hidden_dim"}) {
    const int64_t d = key[0] == 'v' ? c.visual_hidden_dim : c.audio_hidden_dim;
    MOVA_CHECK(d > 0 && d % c.head_dim == 0, ErrorKind::kFormat, j.origin(), ": ", key, " ", d,
               " is not a positive multiple of head_dim ", c.head_dim);
  }
  MOVA_CHECK(c.audio_fps > 0, ErrorKind::kFormat, j.origin(), ": audio_fps must be positive");
  c.interaction_layers();  // validates the strategy name
  return c;
}

nlohmann::json BridgeConfig::to_json() const {
  return {{"_class_name", "DualTowerConditionalBridge"},
          {"_diffusers_version", "0.36.0"},
          {"visual_layers", visual_layers},
          {"audio_layers", audio_layers},
          {"visual_hidden_dim", visual_hidden_dim},
          {"audio_hidden_dim", audio_hidden_dim},
          {"head_dim", head_dim},
          {"audio_fps", audio_fps},
          {"interaction_strategy", interaction_strategy},
          {"apply_cross_rope", apply_cross_rope},
          {"apply_first_frame_bias_in_rope", apply_first_frame_bias_in_rope},
          {"trainable_condition_scale", trainable_condition_scale},
          {"pooled_adaln", pooled_adaln}};
}

std::vector<int64_t> BridgeConfig::interaction_layers() const {
  const int64_t n = std::min(visual_layers, audio_layers);
  std::vector<int64_t> out;
  if (interaction_strategy == "shallow_focus") {
    for (int64_t i = 0; i < std::min<int64_t>(10, n / 3); ++i) out.push_back(i);
  } else if (interaction_strategy == "distributed") {
    for (int64_t i = 0; i < n; i += 3) out.push_back(i);
  } else if (interaction_strategy == "progressive") {
    for (int64_t i = 0; i < std::min<int64_t>(8, n); ++i) out.push_back(i);
    if (n > 8)
      for (int64_t i = 8; i < n; i += 3) out.push_back(i);
  } else if (interaction_strategy == "custom") {
    for (int64_t i : {0, 2, 4, 6, 8, 12, 16, 20})
      if (i < n) out.push_back(i);
  } else if (interaction_strategy == "full") {
    for (int64_t i = 0; i < n; ++i) out.push_back(i);
  } else {
    fail(ErrorKind::kFormat, "dual_tower_bridge: unknown interaction_strategy '",
         interaction_strategy,
         "' (expected shallow_focus, distributed, progressive, custom or full)");
  }
  return out;
}

TensorLayout BridgeConfig::layout() const {
  TensorLayout l;
  const int64_t dv = visual_hidden_dim, da = audio_hidden_dim;
  // One conditioner block: `dim` is the receiving tower's width, `kv` the other tower's.
  auto block = [&](const std::string& p, int64_t dim, int64_t kv) {
    l.add(p + ".y_norm.weight", {kv}, ParamRole::kNormGain);
    l.add(p + ".y_norm.bias", {kv}, ParamRole::kBias);
    l.add(p + ".inner.q.weight", {dim, dim});
    l.add(p + ".inner.q.bias", {dim}, ParamRole::kBias);
    l.add(p + ".inner.k.weight", {dim, kv});
    l.add(p + ".inner.k.bias", {dim}, ParamRole::kBias);
    l.add(p + ".inner.v.weight", {dim, kv});
    l.add(p + ".inner.v.bias", {dim}, ParamRole::kBias);
    l.add(p + ".inner.o.weight", {dim, dim});
    l.add(p + ".inner.o.bias", {dim}, ParamRole::kBias);
    l.add(p + ".inner.norm_q.weight", {dim}, ParamRole::kNormGain);
    l.add(p + ".inner.norm_k.weight", {dim}, ParamRole::kNormGain);
  };
  for (int64_t i : interaction_layers()) {
    block("audio_to_video_conditioners." + std::to_string(i), dv, da);
    const std::string v2a = "video_to_audio_conditioners." + std::to_string(i);
    block(v2a, da, dv);
    if (pooled_adaln) {
      l.add(v2a + ".per_frame_pooling.probe", {1, 1, dv}, ParamRole::kTableValue);
      l.add(v2a + ".per_frame_pooling.attention.in_proj_weight", {3 * dv, dv});
      l.add(v2a + ".per_frame_pooling.attention.in_proj_bias", {3 * dv}, ParamRole::kBias);
      l.add(v2a + ".per_frame_pooling.attention.out_proj.weight", {dv, dv});
      l.add(v2a + ".per_frame_pooling.attention.out_proj.bias", {dv}, ParamRole::kBias);
      l.add(v2a + ".per_frame_pooling.layernorm.weight", {dv}, ParamRole::kNormGain);
      l.add(v2a + ".per_frame_pooling.layernorm.bias", {dv}, ParamRole::kBias);
      l.add(v2a + ".adaln.linear.weight", {2 * da, dv});
      l.add(v2a + ".adaln.linear.bias", {2 * da}, ParamRole::kBias);
    }
  }
  if (trainable_condition_scale) l.add("condition_scale", {1}, ParamRole::kNormGain);
  return l;
}

}  // namespace mova
