#include "models/dac_config.h"

#include "io/json_config.h"
#include "runtime/error.h"

namespace mova {

DacConfig DacConfig::from_json(const JsonConfig& j) {
  DacConfig c;
  c.encoder_dim = j.get_int("encoder_dim", c.encoder_dim);
  c.encoder_rates = j.get_int_list("encoder_rates", c.encoder_rates);
  c.latent_dim = j.get_int("latent_dim", 0);
  c.decoder_dim = j.get_int("decoder_dim", c.decoder_dim);
  c.decoder_rates = j.get_int_list("decoder_rates", c.decoder_rates);
  c.sample_rate = j.get_int("sample_rate", c.sample_rate);
  c.continuous = j.get_bool("continuous", c.continuous);
  c.conv_storage =
      j.get_bool("use_weight_norm", true) ? ConvStorage::kWeightNorm : ConvStorage::kFolded;
  MOVA_CHECK(c.continuous, ErrorKind::kUnsupported, j.origin(),
             ": only the continuous DAC (continuous=true) is supported, as MOVA uses");
  j.check_range("encoder_dim", c.encoder_dim, 1, 1 << 16);
  j.check_range("sample_rate", c.sample_rate, 1000, 1e6);
  MOVA_CHECK(!c.encoder_rates.empty() && !c.decoder_rates.empty(), ErrorKind::kFormat, j.origin(),
             ": encoder_rates and decoder_rates must not be empty");
  for (int64_t r : c.encoder_rates)
    MOVA_CHECK(r >= 1 && r <= 64, ErrorKind::kFormat, j.origin(), ": bad encoder rate ", r);
  int64_t up = 1;
  for (int64_t r : c.decoder_rates) {
    MOVA_CHECK(r >= 1 && r <= 64, ErrorKind::kFormat, j.origin(), ": bad decoder rate ", r);
    up *= r;
  }
  MOVA_CHECK(up == c.hop_length(), ErrorKind::kFormat, j.origin(), ": decoder_rates multiply to ",
             up, " but encoder_rates to ", c.hop_length(),
             "; decode(encode(x)) would change the length");
  const int64_t shrink = int64_t{1} << c.decoder_rates.size();
  MOVA_CHECK(c.decoder_dim >= shrink && c.decoder_dim % shrink == 0, ErrorKind::kFormat, j.origin(),
             ": decoder_dim ", c.decoder_dim, " must be a multiple of 2^", c.decoder_rates.size());
  j.check_range("latent_dim", c.latent_channels(), 1, 1 << 16);
  return c;
}

nlohmann::json DacConfig::to_json() const {
  return {{"_class_name", "DAC"},
          {"_diffusers_version", "0.36.0"},
          {"codebook_dim", 8},
          {"codebook_size", 1024},
          {"continuous", continuous},
          {"decoder_dim", decoder_dim},
          {"decoder_rates", decoder_rates},
          {"encoder_dim", encoder_dim},
          {"encoder_rates", encoder_rates},
          {"latent_dim", latent_channels()},
          {"n_codebooks", 9},
          {"quantizer_dropout", false},
          {"sample_rate", sample_rate}};
}

const char* DacConfig::conv_storage_name() const {
  switch (conv_storage) {
    case ConvStorage::kWeightNorm:
      return "weight_g/weight_v";
    case ConvStorage::kParametrized:
      return "parametrizations.weight.original0/1";
    case ConvStorage::kFolded:
      return "weight";
  }
  return "?";
}

int64_t DacConfig::latent_channels() const {
  return latent_dim ? latent_dim : encoder_dim * (int64_t{1} << encoder_rates.size());
}

int64_t DacConfig::hop_length() const {
  int64_t h = 1;
  for (int64_t r : encoder_rates) h *= r;
  return h;
}

TensorLayout DacConfig::layout() const {
  TensorLayout l;
  // A weight-normalised conv: weight_g holds one gain per row of the stored weight, which is
  // the output channel for Conv1d but the input channel for ConvTranspose1d ([in, out, k]).
  auto conv = [&](const std::string& p, int64_t out, int64_t in, int64_t k, bool transposed) {
    const Shape w = transposed ? Shape{in, out, k} : Shape{out, in, k};
    if (conv_storage == ConvStorage::kWeightNorm) {
      l.add(p + ".weight_g", {w[0], 1, 1}, ParamRole::kWeightNormGain);
      l.add(p + ".weight_v", w);
    } else if (conv_storage == ConvStorage::kParametrized) {
      l.add(p + ".parametrizations.weight.original0", {w[0], 1, 1}, ParamRole::kWeightNormGain);
      l.add(p + ".parametrizations.weight.original1", w);
    } else {
      l.add(p + ".weight", w);
    }
    l.add(p + ".bias", {out}, ParamRole::kBias);
  };
  auto snake = [&](const std::string& p, int64_t c) {
    l.add(p + ".alpha", {1, c, 1}, ParamRole::kSnakeAlpha);
  };
  auto residual_unit = [&](const std::string& p, int64_t c) {
    snake(p + ".block.0", c);
    conv(p + ".block.1", c, c, 7, false);
    snake(p + ".block.2", c);
    conv(p + ".block.3", c, c, 1, false);
  };

  const int64_t n_enc = static_cast<int64_t>(encoder_rates.size());
  conv("encoder.block.0", encoder_dim, 1, 7, false);
  int64_t width = encoder_dim;
  for (int64_t i = 0; i < n_enc; ++i) {
    const std::string p = "encoder.block." + std::to_string(i + 1) + ".block";
    const int64_t s = encoder_rates[i];
    for (int u = 0; u < 3; ++u) residual_unit(p + "." + std::to_string(u), width);
    snake(p + ".3", width);
    conv(p + ".4", 2 * width, width, 2 * s, false);
    width *= 2;
  }
  snake("encoder.block." + std::to_string(n_enc + 1), width);
  conv("encoder.block." + std::to_string(n_enc + 2), latent_channels(), width, 3, false);

  const int64_t z = latent_channels();
  l.add("quant_conv.weight", {2 * z, z, 1});
  l.add("quant_conv.bias", {2 * z}, ParamRole::kBias);
  l.add("post_quant_conv.weight", {z, z, 1});
  l.add("post_quant_conv.bias", {z}, ParamRole::kBias);

  const int64_t n_dec = static_cast<int64_t>(decoder_rates.size());
  conv("decoder.model.0", decoder_dim, z, 7, false);
  width = decoder_dim;
  for (int64_t i = 0; i < n_dec; ++i) {
    const std::string p = "decoder.model." + std::to_string(i + 1) + ".block";
    const int64_t s = decoder_rates[i];
    snake(p + ".0", width);
    conv(p + ".1", width / 2, width, 2 * s, true);
    for (int u = 0; u < 3; ++u) residual_unit(p + "." + std::to_string(u + 2), width / 2);
    width /= 2;
  }
  snake("decoder.model." + std::to_string(n_dec + 1), width);
  conv("decoder.model." + std::to_string(n_dec + 2), 1, width, 7, false);
  return l;
}

}  // namespace mova
