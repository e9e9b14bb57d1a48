#include "models/wan_vae_config.h"

#include "io/json_config.h"
#include "runtime/error.h"

namespace mova {

WanVaeConfig WanVaeConfig::from_json(const JsonConfig& j) {
  WanVaeConfig c;
  c.base_dim = j.get_int("base_dim", c.base_dim);
  c.decoder_base_dim = j.get_int("decoder_base_dim", 0);
  c.z_dim = j.get_int("z_dim", c.z_dim);
  c.dim_mult = j.get_int_list("dim_mult", c.dim_mult);
  c.num_res_blocks = j.get_int("num_res_blocks", c.num_res_blocks);
  c.temperal_downsample = j.get_bool_list("temperal_downsample", c.temperal_downsample);
  c.in_channels = j.get_int("in_channels", c.in_channels);
  c.out_channels = j.get_int("out_channels", c.out_channels);
  c.scale_factor_temporal = j.get_int("scale_factor_temporal", c.scale_factor_temporal);
  c.scale_factor_spatial = j.get_int("scale_factor_spatial", c.scale_factor_spatial);
  c.latents_mean = j.get_double_list("latents_mean");
  c.latents_std = j.get_double_list("latents_std");

  MOVA_CHECK(!j.get_bool("is_residual", false), ErrorKind::kUnsupported, j.origin(),
             ": is_residual=true is the Wan2.2 VAE; MOVA uses the Wan2.1 VAE");
  MOVA_CHECK(j.get_int_list("attn_scales", {}).empty(), ErrorKind::kUnsupported, j.origin(),
             ": non-empty attn_scales is not supported (the Wan2.1 VAE has none)");
  j.check_range("base_dim", c.base_dim, 1, 1 << 16);
  j.check_range("z_dim", c.z_dim, 1, 1 << 12);
  j.check_range("num_res_blocks", c.num_res_blocks, 1, 64);
  MOVA_CHECK(!c.dim_mult.empty() && c.temperal_downsample.size() + 1 == c.dim_mult.size(),
             ErrorKind::kFormat, j.origin(),
             ": temperal_downsample needs len(dim_mult)-1 = ", c.dim_mult.size() - 1,
             " entries, has ", c.temperal_downsample.size());
  for (int64_t m : c.dim_mult)
    MOVA_CHECK(m > 0, ErrorKind::kFormat, j.origin(), ": dim_mult entries must be positive");
  for (int64_t d : c.decoder_dims())
    MOVA_CHECK(d % 2 == 0, ErrorKind::kFormat, j.origin(), ": decoder width ", d,
               " must be even (upsamplers halve channels)");
  MOVA_CHECK(static_cast<int64_t>(c.latents_mean.size()) == c.z_dim &&
                 static_cast<int64_t>(c.latents_std.size()) == c.z_dim,
             ErrorKind::kFormat, j.origin(),
             ": latents_mean and latents_std need z_dim = ", c.z_dim, " values each");
  for (double s : c.latents_std)
    MOVA_CHECK(s > 0, ErrorKind::kFormat, j.origin(), ": latents_std values must be positive");
  return c;
}

nlohmann::json WanVaeConfig::to_json() const {
  nlohmann::json j = {{"_class_name", "AutoencoderKLWan"},
                      {"_diffusers_version", "0.36.0"},
                      {"attn_scales", nlohmann::json::array()},
                      {"base_dim", base_dim},
                      {"dim_mult", dim_mult},
                      {"dropout", 0.0},
                      {"latents_mean", latents_mean},
                      {"latents_std", latents_std},
                      {"num_res_blocks", num_res_blocks},
                      {"temperal_downsample", temperal_downsample},
                      {"z_dim", z_dim}};
  if (decoder_base_dim) j["decoder_base_dim"] = decoder_base_dim;
  return j;
}

std::vector<int64_t> WanVaeConfig::encoder_dims() const {
  std::vector<int64_t> d = {base_dim};
  for (int64_t m : dim_mult) d.push_back(base_dim * m);
  return d;
}

std::vector<int64_t> WanVaeConfig::decoder_dims() const {
  const int64_t b = decoder_dim();
  std::vector<int64_t> d = {b * dim_mult.back()};
  for (auto it = dim_mult.rbegin(); it != dim_mult.rend(); ++it) d.push_back(b * *it);
  return d;
}

namespace {

void resblock(TensorLayout& l, const std::string& p, int64_t in, int64_t out) {
  l.add(p + ".norm1.gamma", {in, 1, 1, 1}, ParamRole::kNormGain);
  l.add(p + ".conv1.weight", {out, in, 3, 3, 3});
  l.add(p + ".conv1.bias", {out}, ParamRole::kBias);
  l.add(p + ".norm2.gamma", {out, 1, 1, 1}, ParamRole::kNormGain);
  l.add(p + ".conv2.weight", {out, out, 3, 3, 3});
  l.add(p + ".conv2.bias", {out}, ParamRole::kBias);
  if (in != out) {
    l.add(p + ".conv_shortcut.weight", {out, in, 1, 1, 1});
    l.add(p + ".conv_shortcut.bias", {out}, ParamRole::kBias);
  }
}

void mid_block(TensorLayout& l, const std::string& p, int64_t c) {
  l.add(p + ".attentions.0.norm.gamma", {c, 1, 1}, ParamRole::kNormGain);
  l.add(p + ".attentions.0.to_qkv.weight", {3 * c, c, 1, 1});
  l.add(p + ".attentions.0.to_qkv.bias", {3 * c}, ParamRole::kBias);
  l.add(p + ".attentions.0.proj.weight", {c, c, 1, 1});
  l.add(p + ".attentions.0.proj.bias", {c}, ParamRole::kBias);
  resblock(l, p + ".resnets.0", c, c);
  resblock(l, p + ".resnets.1", c, c);
}

// Encoder downsamplers keep the width; Wan2.1 upsamplers halve it.
void resample(TensorLayout& l, const std::string& p, int64_t c, bool up, bool temporal) {
  const int64_t out = up ? c / 2 : c;
  l.add(p + ".resample.1.weight", {out, c, 3, 3});
  l.add(p + ".resample.1.bias", {out}, ParamRole::kBias);
  if (temporal) {
    const int64_t tout = up ? 2 * c : c;
    l.add(p + ".time_conv.weight", {tout, c, 3, 1, 1});
    l.add(p + ".time_conv.bias", {tout}, ParamRole::kBias);
  }
}

}  // namespace

TensorLayout WanVaeConfig::layout() const {
  TensorLayout l;
  const auto ed = encoder_dims();
  const int64_t levels = static_cast<int64_t>(dim_mult.size());
  l.add("encoder.conv_in.weight", {ed[0], in_channels, 3, 3, 3});
  l.add("encoder.conv_in.bias", {ed[0]}, ParamRole::kBias);
  int64_t k = 0;
  for (int64_t i = 0; i < levels; ++i) {
    for (int64_t r = 0; r < num_res_blocks; ++r, ++k)
      resblock(l, "encoder.down_blocks." + std::to_string(k), r == 0 ? ed[i] : ed[i + 1],
               ed[i + 1]);
    if (i < levels - 1)
      resample(l, "encoder.down_blocks." + std::to_string(k++), ed[i + 1], false,
               temperal_downsample[i]);
  }
  mid_block(l, "encoder.mid_block", ed.back());
  l.add("encoder.norm_out.gamma", {ed.back(), 1, 1, 1}, ParamRole::kNormGain);
  l.add("encoder.conv_out.weight", {2 * z_dim, ed.back(), 3, 3, 3});
  l.add("encoder.conv_out.bias", {2 * z_dim}, ParamRole::kBias);
  l.add("quant_conv.weight", {2 * z_dim, 2 * z_dim, 1, 1, 1});
  l.add("quant_conv.bias", {2 * z_dim}, ParamRole::kBias);
  l.add("post_quant_conv.weight", {z_dim, z_dim, 1, 1, 1});
  l.add("post_quant_conv.bias", {z_dim}, ParamRole::kBias);

  const auto dd = decoder_dims();
  l.add("decoder.conv_in.weight", {dd[0], z_dim, 3, 3, 3});
  l.add("decoder.conv_in.bias", {dd[0]}, ParamRole::kBias);
  mid_block(l, "decoder.mid_block", dd[0]);
  for (int64_t i = 0; i < levels; ++i) {
    const std::string p = "decoder.up_blocks." + std::to_string(i);
    const int64_t in = i == 0 ? dd[i] : dd[i] / 2;
    const int64_t out = dd[i + 1];
    for (int64_t r = 0; r <= num_res_blocks; ++r)
      resblock(l, p + ".resnets." + std::to_string(r), r == 0 ? in : out, out);
    if (i < levels - 1) {
      const bool temporal = temperal_downsample[levels - 2 - i];  // reversed list
      resample(l, p + ".upsamplers.0", out, true, temporal);
    }
  }
  l.add("decoder.norm_out.gamma", {dd.back(), 1, 1, 1}, ParamRole::kNormGain);
  l.add("decoder.conv_out.weight", {out_channels, dd.back(), 3, 3, 3});
  l.add("decoder.conv_out.bias", {out_channels}, ParamRole::kBias);
  return l;
}

}  // namespace mova
