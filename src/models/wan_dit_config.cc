#include "models/wan_dit_config.h"

#include "io/json_config.h"
#include "runtime/error.h"

namespace mova {

WanDitConfig WanDitConfig::from_json(const JsonConfig& j, bool audio) {
  WanDitConfig c;
  c.audio = audio;
  c.dim = j.get_int("dim");
  c.in_dim = j.get_int("in_dim");
  c.ffn_dim = j.get_int("ffn_dim");
  c.out_dim = j.get_int("out_dim");
  c.text_dim = j.get_int("text_dim");
  c.freq_dim = j.get_int("freq_dim", c.freq_dim);
  c.eps = j.get_double("eps", c.eps);
  c.patch_size =
      j.get_int_list("patch_size", audio ? std::vector<int64_t>{1} : std::vector<int64_t>{1, 2, 2});
  c.num_heads = j.get_int("num_heads");
  c.num_layers = j.get_int("num_layers");
  c.has_image_input = j.get_bool("has_image_input", false);
  if (audio) c.vae_type = j.get_string("vae_type", "oobleck");  // upstream's default
  // Flags that would add tensors or change the math; MOVA leaves them all off.
  for (const char* flag : {"has_image_pos_emb", "has_ref_conv", "add_control_adapter",
                           "fuse_vae_embedding_in_latents"})
    MOVA_CHECK(!j.get_bool(flag, false), ErrorKind::kUnsupported, j.origin(), ": ", flag,
               "=true is not used by MOVA and not supported");

  for (const char* key :
       {"dim", "in_dim", "ffn_dim", "out_dim", "text_dim", "num_heads", "num_layers"})
    j.check_range(key, static_cast<double>(j.get_int(key)), 1, 1 << 20);
  j.check_range("freq_dim", c.freq_dim, 2, 1 << 16);
  MOVA_CHECK(c.freq_dim % 2 == 0, ErrorKind::kFormat, j.origin(), ": freq_dim must be even");
  MOVA_CHECK(c.dim % c.num_heads == 0, ErrorKind::kFormat, j.origin(), ": dim ", c.dim,
             " is not divisible by num_heads ", c.num_heads);
  MOVA_CHECK(c.head_dim() % 2 == 0, ErrorKind::kFormat, j.origin(), ": head dim ", c.head_dim(),
             " must be even (RoPE rotates pairs)");
  // Video RoPE splits a head into frame/height/width parts of head_dim - 2(head_dim/3),
  // head_dim/3 and head_dim/3 channels, each rotated in pairs: the thirds must be even.
  MOVA_CHECK(audio || (c.head_dim() / 3) % 2 == 0, ErrorKind::kFormat, j.origin(), ": head dim ",
             c.head_dim(), " cannot be split into (t, h, w) RoPE pairs (head_dim/3 must be even)");
  MOVA_CHECK(c.patch_size.size() == (audio ? 1u : 3u), ErrorKind::kFormat, j.origin(),
             ": patch_size needs ", audio ? 1 : 3, " entries");
  for (int64_t p : c.patch_size)
    MOVA_CHECK(p >= 1 && p <= 64, ErrorKind::kFormat, j.origin(), ": bad patch_size entry ", p);
  MOVA_CHECK(!c.has_image_input, ErrorKind::kUnsupported, j.origin(),
             ": has_image_input=true (CLIP image branch) is not used by MOVA and not supported");
  if (audio)
    MOVA_CHECK(c.vae_type == "dac", ErrorKind::kUnsupported, j.origin(), ": vae_type '", c.vae_type,
               "' is not supported (MOVA uses \"dac\")");
  return c;
}

nlohmann::json WanDitConfig::to_json() const {
  nlohmann::json j = {{"_class_name", audio ? "WanAudioModel" : "WanModel"},
                      {"_diffusers_version", "0.36.0"},
                      {"dim", dim},
                      {"in_dim", in_dim},
                      {"ffn_dim", ffn_dim},
                      {"out_dim", out_dim},
                      {"text_dim", text_dim},
                      {"freq_dim", freq_dim},
                      {"eps", eps},
                      {"patch_size", patch_size},
                      {"num_heads", num_heads},
                      {"num_layers", num_layers},
                      {"has_image_input", has_image_input},
                      // Upstream writes every constructor argument; "seperated" is its spelling.
                      {"has_image_pos_emb", false},
                      {"has_ref_conv", false},
                      {"add_control_adapter", false},
                      {"in_dim_control_adapter", 24},
                      {"seperated_timestep", false},
                      {"require_vae_embedding", true},
                      {"require_clip_embedding", false},
                      {"fuse_vae_embedding_in_latents", false}};
  if (audio) j["vae_type"] = vae_type;
  return j;
}

int64_t WanDitConfig::patch_volume() const {
  int64_t v = 1;
  for (int64_t p : patch_size) v *= p;
  return v;
}

TensorLayout WanDitConfig::layout() const {
  TensorLayout l;
  Shape patch_w = {dim, in_dim};
  for (int64_t p : patch_size) patch_w.push_back(p);
  l.add("patch_embedding.weight", patch_w);
  l.add("patch_embedding.bias", {dim}, ParamRole::kBias);
  l.add("text_embedding.0.weight", {dim, text_dim});
  l.add("text_embedding.0.bias", {dim}, ParamRole::kBias);
  l.add("text_embedding.2.weight", {dim, dim});
  l.add("text_embedding.2.bias", {dim}, ParamRole::kBias);
  l.add("time_embedding.0.weight", {dim, freq_dim});
  l.add("time_embedding.0.bias", {dim}, ParamRole::kBias);
  l.add("time_embedding.2.weight", {dim, dim});
  l.add("time_embedding.2.bias", {dim}, ParamRole::kBias);
  l.add("time_projection.1.weight", {6 * dim, dim});
  l.add("time_projection.1.bias", {6 * dim}, ParamRole::kBias);
  for (int64_t i = 0; i < num_layers; ++i) {
    const std::string b = "blocks." + std::to_string(i);
    for (const char* attn : {".self_attn", ".cross_attn"}) {
      const int64_t kv_in = dim;  // cross-attention reads the text-embedded context (width dim)
      for (const char* proj : {".q", ".k", ".v", ".o"}) {
        l.add(b + attn + proj + ".weight", {dim, proj[1] == 'q' || proj[1] == 'o' ? dim : kv_in});
        l.add(b + attn + proj + ".bias", {dim}, ParamRole::kBias);
      }
      l.add(b + attn + ".norm_q.weight", {dim}, ParamRole::kNormGain);
      l.add(b + attn + ".norm_k.weight", {dim}, ParamRole::kNormGain);
    }
    l.add(b + ".norm3.weight", {dim}, ParamRole::kNormGain);
    l.add(b + ".norm3.bias", {dim}, ParamRole::kBias);
    l.add(b + ".ffn.0.weight", {ffn_dim, dim});
    l.add(b + ".ffn.0.bias", {ffn_dim}, ParamRole::kBias);
    l.add(b + ".ffn.2.weight", {dim, ffn_dim});
    l.add(b + ".ffn.2.bias", {dim}, ParamRole::kBias);
    l.add(b + ".modulation", {1, 6, dim}, ParamRole::kTableValue);
  }
  l.add("head.head.weight", {out_dim * patch_volume(), dim});
  l.add("head.head.bias", {out_dim * patch_volume()}, ParamRole::kBias);
  l.add("head.modulation", {1, 2, dim}, ParamRole::kTableValue);
  return l;
}

}  // namespace mova
