#include "models/checkpoint_info.h"

#include <cmath>
#include <filesystem>
#include <optional>
#include <set>

#include "runtime/error.h"
#include "text/umt5_tokenizer.h"

namespace mova {
namespace fs = std::filesystem;
namespace {

nlohmann::json key_config(const Checkpoint& ckpt, Component c) {
  switch (c) {
    case Component::kTextEncoder: {
      const auto k = ckpt.text_encoder_config();
      return {{"d_model", k.d_model},
              {"num_layers", k.num_layers},
              {"num_heads", k.num_heads},
              {"d_ff", k.d_ff},
              {"vocab_size", k.vocab_size}};
    }
    case Component::kVideoDit:
    case Component::kVideoDit2:
    case Component::kAudioDit: {
      const auto k = c == Component::kAudioDit ? ckpt.audio_dit_config() : ckpt.video_dit_config(c);
      return {{"dim", k.dim},           {"num_layers", k.num_layers}, {"num_heads", k.num_heads},
              {"ffn_dim", k.ffn_dim},   {"in_dim", k.in_dim},         {"out_dim", k.out_dim},
              {"text_dim", k.text_dim}, {"patch_size", k.patch_size}};
    }
    case Component::kBridge: {
      const auto k = ckpt.bridge_config();
      return {{"visual_layers", k.visual_layers},
              {"audio_layers", k.audio_layers},
              {"interaction_strategy", k.interaction_strategy},
              {"interacting_layers", k.interaction_layers().size()},
              {"audio_fps", k.audio_fps},
              {"apply_cross_rope", k.apply_cross_rope}};
    }
    case Component::kVideoVae: {
      const auto k = ckpt.video_vae_config();
      return {{"base_dim", k.base_dim},
              {"z_dim", k.z_dim},
              {"dim_mult", k.dim_mult},
              {"scale_factor_spatial", k.scale_factor_spatial},
              {"scale_factor_temporal", k.scale_factor_temporal}};
    }
    case Component::kAudioVae: {
      const auto k = ckpt.audio_vae_config();
      return {{"sample_rate", k.sample_rate},
              {"hop_length", k.hop_length()},
              {"latent_channels", k.latent_channels()},
              {"conv_storage", k.conv_storage_name()}};
    }
    case Component::kScheduler: {
      const auto k = ckpt.scheduler_config();
      return {{"shift", k.shift},
              {"num_train_timesteps", k.num_train_timesteps},
              {"extra_one_step", k.extra_one_step},
              {"sigma_min", k.sigma_min}};
    }
    case Component::kTokenizer: {
      nlohmann::json files = nlohmann::json::array();
      std::set<std::string> names;
      for (const auto& e : fs::directory_iterator(ckpt.folder(c)))
        names.insert(e.path().filename());
      for (const auto& n : names) files.push_back(n);
      MOVA_CHECK(names.count("spiece.model") || names.count("tokenizer.json"), ErrorKind::kFormat,
                 ckpt.folder(c), ": neither spiece.model nor tokenizer.json is present");
      const Umt5Tokenizer tokenizer(ckpt.folder(c));  // loads it: a broken file fails here
      return {{"files", files},
              {"reads", tokenizer.source()},
              {"pieces", tokenizer.vocab_size()},
              {"added_tokens", tokenizer.added_token_count()},
              {"pipeline", tokenizer.pipeline()}};
    }
  }
  return nlohmann::json::object();
}

nlohmann::json weight_summary(const Checkpoint& ckpt, Component c) {
  const WeightSet w = ckpt.weights(c);
  nlohmann::json files = nlohmann::json::array();
  uint64_t file_bytes = 0;
  for (const auto& f : w.files()) {
    files.push_back(fs::path(f->path()).filename().string());
    file_bytes += f->file_size();
  }
  std::map<std::string, uint64_t> by_dtype;
  int64_t params = 0;
  uint64_t bytes = 0;
  for (const auto& f : w.files())
    for (const auto& t : f->tensors()) {
      params += t.numel();
      bytes += t.end - t.begin;
      by_dtype[dtype_name(t.dtype)] += t.end - t.begin;
    }
  return {{"files", files},       {"file_bytes", file_bytes}, {"tensors", w.size()},
          {"parameters", params}, {"bytes", bytes},           {"bytes_by_dtype", by_dtype}};
}

// Dimensions that must agree between components (each check only when both parse).
std::vector<std::string> consistency_errors(const Checkpoint& ckpt) {
  std::vector<std::string> errors;
  auto check = [&](bool ok, const std::string& what) {
    if (!ok) errors.push_back(what);
  };
  auto try_get = [&](auto fn) -> decltype(fn()) {
    try {
      return fn();
    } catch (const Error&) {
      return {};
    }
  };
  using OptDit = std::optional<WanDitConfig>;
  const OptDit v1 =
      try_get([&]() -> OptDit { return ckpt.video_dit_config(Component::kVideoDit); });
  const OptDit v2 =
      try_get([&]() -> OptDit { return ckpt.video_dit_config(Component::kVideoDit2); });
  const OptDit a = try_get([&]() -> OptDit { return ckpt.audio_dit_config(); });
  const auto b = try_get([&]() -> std::optional<BridgeConfig> { return ckpt.bridge_config(); });
  const auto t = try_get([&]() -> std::optional<Umt5Config> { return ckpt.text_encoder_config(); });
  const auto vv = try_get([&]() -> std::optional<WanVaeConfig> { return ckpt.video_vae_config(); });
  const auto av = try_get([&]() -> std::optional<DacConfig> { return ckpt.audio_vae_config(); });
  if (v1 && v2)
    check(v1->dim == v2->dim && v1->num_layers == v2->num_layers && v1->in_dim == v2->in_dim &&
              v1->out_dim == v2->out_dim,
          "video_dit and video_dit_2 have different dims or layer counts");
  for (const OptDit* d : {&v1, &v2, &a})
    if (*d && t)
      check((*d)->text_dim == t->d_model,
            str_cat((*d)->audio ? "audio_dit" : "video_dit", " text_dim ", (*d)->text_dim,
                    " != text_encoder d_model ", t->d_model));
  if (v1 && vv)
    check(v1->out_dim == vv->z_dim && v1->in_dim == 2 * vv->z_dim + 4,
          str_cat("video_dit in_dim/out_dim ", v1->in_dim, "/", v1->out_dim,
                  " do not fit video_vae z_dim ", vv->z_dim, " (expected ", 2 * vv->z_dim + 4, "/",
                  vv->z_dim, ")"));
  if (a && av)
    check(a->in_dim == av->latent_channels() && a->out_dim == av->latent_channels(),
          str_cat("audio_dit in_dim/out_dim ", a->in_dim, "/", a->out_dim,
                  " != audio_vae latent channels ", av->latent_channels()));
  if (b && v1)
    check(b->visual_hidden_dim == v1->dim && b->visual_layers == v1->num_layers,
          str_cat("dual_tower_bridge visual dims ", b->visual_hidden_dim, "x", b->visual_layers,
                  " != video_dit ", v1->dim, "x", v1->num_layers));
  if (b && a)
    check(b->audio_hidden_dim == a->dim && b->audio_layers == a->num_layers,
          str_cat("dual_tower_bridge audio dims ", b->audio_hidden_dim, "x", b->audio_layers,
                  " != audio_dit ", a->dim, "x", a->num_layers));
  if (b && av)
    check(std::fabs(b->audio_fps - static_cast<double>(av->sample_rate) / av->hop_length()) < 1e-6,
          str_cat("dual_tower_bridge audio_fps ", b->audio_fps, " != audio_vae sample_rate/hop ",
                  static_cast<double>(av->sample_rate) / av->hop_length()));
  return errors;
}

}  // namespace

nlohmann::json describe_checkpoint(const Checkpoint& ckpt) {
  nlohmann::json out = {{"path", ckpt.dir()},
                        {"boundary_ratio", ckpt.index().boundary_ratio},
                        {"components", nlohmann::json::array()}};
  int64_t total_params = 0;
  uint64_t total_bytes = 0;
  bool all_ok = true;
  for (const auto& d : all_components()) {
    nlohmann::json comp = {{"name", d.folder}, {"class", d.class_name}};
    if (!ckpt.present(d.id)) {
      comp["status"] = "absent";
      all_ok = false;
    } else {
      try {
        comp["config"] = key_config(ckpt, d.id);
        if (d.has_weights) {
          comp.update(weight_summary(ckpt, d.id));
          total_params += comp["parameters"].get<int64_t>();
          total_bytes += comp["file_bytes"].get<uint64_t>();
        }
        comp["status"] = "ok";
      } catch (const Error& e) {
        comp["status"] = "invalid";
        comp["error"] = e.what();
        all_ok = false;
      }
    }
    out["components"].push_back(comp);
  }
  const auto mismatches = consistency_errors(ckpt);
  out["consistency_errors"] = mismatches;
  if (!mismatches.empty()) all_ok = false;
  out["total_parameters"] = total_params;
  out["total_file_bytes"] = total_bytes;
  out["complete"] = all_ok;
  return out;
}

}  // namespace mova
