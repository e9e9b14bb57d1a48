#include "models/dac.h"

#include <cmath>

#include "runtime/error.h"
#include "runtime/ops/conv.h"
#include "runtime/ops/elementwise.h"

namespace mova {
namespace {

// w = g · v / ‖v‖, the norm over every dim but the first (no epsilon, as torch's weight_norm).
Tensor fold_weight_norm(const Tensor& g, const Tensor& v) {
  Tensor w = v.to(DType::kF32).contiguous().clone();
  const auto gv = g.to_vector();
  const int64_t rows = w.size(0), per_row = w.numel() / rows;
  float* p = w.data<float>();
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < per_row; ++i)
      ss += static_cast<double>(p[r * per_row + i]) * p[r * per_row + i];
    const float scale = static_cast<float>(gv[r] / std::sqrt(ss));
    for (int64_t i = 0; i < per_row; ++i) p[r * per_row + i] *= scale;
  }
  return w;
}

}  // namespace

DacVae::DacVae(DacConfig config, const WeightSet& weights)
    : config_(std::move(config)), device_(weights.device()) {
  static const std::string kParam = ".parametrizations.weight.original";
  for (const auto& name : weights.names()) {
    const auto param = name.find(kParam);
    if (param != std::string::npos) {  // original0 = g, original1 = v
      if (name.back() == '1') {
        const std::string prefix = name.substr(0, param);
        convs_[prefix].weight =
            fold_weight_norm(weights.get_host(prefix + kParam + "0"), weights.get_host(name));
      }
      continue;
    }
    const auto dot = name.rfind('.');
    const std::string prefix = name.substr(0, dot), leaf = name.substr(dot + 1);
    if (leaf == "alpha") {
      alphas_[prefix] = weights.get_host(name).to(DType::kF32).contiguous().reshape({-1});
    } else if (leaf == "bias") {
      convs_[prefix].bias = weights.get_host(name).to(DType::kF32);
    } else if (leaf == "weight") {
      convs_[prefix].weight = weights.get_host(name).to(DType::kF32).contiguous();
    } else if (leaf == "weight_v") {
      convs_[prefix].weight =
          fold_weight_norm(weights.get_host(prefix + ".weight_g"), weights.get_host(name));
    }
  }
  for (auto& [name, c] : convs_) {
    if (c.weight.defined()) c.weight = c.weight.to(device_);
    if (c.bias.defined()) c.bias = c.bias.to(device_);
  }
  for (auto& [name, a] : alphas_) a = a.to(device_);
}

const DacVae::Conv& DacVae::conv(const std::string& name) const {
  auto it = convs_.find(name);
  MOVA_CHECK(it != convs_.end() && it->second.weight.defined(), ErrorKind::kFormat,
             "audio_vae: missing convolution '", name, "'");
  return it->second;
}

const Tensor& DacVae::alpha(const std::string& name) const {
  auto it = alphas_.find(name);
  MOVA_CHECK(it != alphas_.end(), ErrorKind::kFormat, "audio_vae: missing Snake '", name, "'");
  return it->second;
}

Tensor DacVae::snake(Exec& ex, const Tensor& x, const std::string& name) const {
  return mova::snake(ex, x, alpha(name));
}

Tensor DacVae::residual_unit(Exec& ex, const Tensor& x, const std::string& p,
                             int64_t dilation) const {
  Conv1dParams c7;
  c7.padding = 3 * dilation;
  c7.dilation = dilation;
  const Conv& a = conv(p + ".block.1");
  const Conv& b = conv(p + ".block.3");
  Tensor y = conv1d(ex, snake(ex, x, p + ".block.0"), a.weight, &a.bias, c7);
  y = conv1d(ex, snake(ex, y, p + ".block.2"), b.weight, &b.bias, {});
  // Lengths are preserved with this padding, so upstream's centre crop is a no-op.
  return add(ex, x, y);
}

Tensor DacVae::decode(Exec& ex, const Tensor& latents) const {
  const int64_t C = config_.latent_channels();
  MOVA_CHECK(
      latents.dim() == 3 && latents.size(0) == 1 && latents.size(1) == C && latents.size(2) >= 1,
      ErrorKind::kShape, "audio latents ", latents.describe(), " must be [1, ", C, ", L]");
  Tensor x = latents.to(DType::kF32).to(device_).contiguous().reshape({C, latents.size(2)});
  const Conv& pq = conv("post_quant_conv");
  x = conv1d(ex, x, pq.weight, &pq.bias, {});
  Conv1dParams c7;
  c7.padding = 3;
  const Conv& in = conv("decoder.model.0");
  x = conv1d(ex, x, in.weight, &in.bias, c7);
  const int64_t n = static_cast<int64_t>(config_.decoder_rates.size());
  for (int64_t i = 0; i < n; ++i) {
    const std::string p = "decoder.model." + std::to_string(i + 1) + ".block";
    const int64_t s = config_.decoder_rates[i];
    x = snake(ex, x, p + ".0");
    Conv1dParams up;
    up.stride = s;
    up.padding = (s + 1) / 2;
    up.output_padding = s % 2;
    const Conv& t = conv(p + ".1");
    x = conv_transpose1d(ex, x, t.weight, &t.bias, up);
    for (int64_t u = 0; u < 3; ++u)
      x = residual_unit(ex, x, p + "." + std::to_string(u + 2), u == 0 ? 1 : u == 1 ? 3 : 9);
  }
  x = snake(ex, x, "decoder.model." + std::to_string(n + 1));
  const Conv& out = conv("decoder.model." + std::to_string(n + 2));
  x = conv1d(ex, x, out.weight, &out.bias, c7).to(Device::cpu());  // tanh on the host
  float* p = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) p[i] = std::tanh(p[i]);
  return x.reshape({1, 1, x.size(1)});
}

Tensor DacVae::encode(Exec& ex, const Tensor& audio) const {
  MOVA_CHECK(audio.dim() == 3 && audio.size(0) == 1 && audio.size(1) == 1 && audio.size(2) >= 1,
             ErrorKind::kShape, "audio ", audio.describe(), " must be [1, 1, N]");
  const int64_t hop = config_.hop_length();
  const int64_t N = audio.size(2), padded = (N + hop - 1) / hop * hop;
  Tensor x = Tensor::zeros({1, padded}, DType::kF32);
  x.narrow(1, 0, N).copy_from(audio.reshape({1, N}).to(DType::kF32));
  x = x.to(device_);
  Conv1dParams c7;
  c7.padding = 3;
  const Conv& in = conv("encoder.block.0");
  x = conv1d(ex, x, in.weight, &in.bias, c7);
  const int64_t n = static_cast<int64_t>(config_.encoder_rates.size());
  for (int64_t i = 0; i < n; ++i) {
    const std::string p = "encoder.block." + std::to_string(i + 1) + ".block";
    const int64_t s = config_.encoder_rates[i];
    for (int64_t u = 0; u < 3; ++u)
      x = residual_unit(ex, x, p + "." + std::to_string(u), u == 0 ? 1 : u == 1 ? 3 : 9);
    x = snake(ex, x, p + ".3");
    Conv1dParams down;
    down.stride = s;
    down.padding = (s + 1) / 2;
    const Conv& d = conv(p + ".4");
    x = conv1d(ex, x, d.weight, &d.bias, down);
  }
  x = snake(ex, x, "encoder.block." + std::to_string(n + 1));
  Conv1dParams c3;
  c3.padding = 1;
  const Conv& last = conv("encoder.block." + std::to_string(n + 2));
  x = conv1d(ex, x, last.weight, &last.bias, c3);
  const Conv& q = conv("quant_conv");
  x = conv1d(ex, x, q.weight, &q.bias, {});  // [2C, L]: mean then log-variance
  const int64_t C = config_.latent_channels();
  return x.narrow(0, 0, C).to(Device::cpu()).reshape({1, C, x.size(1)});
}

}  // namespace mova
