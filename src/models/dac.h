// MOVA's audio VAE (upstream DAC in dac_vae.py, continuous mode): latents [1, C, L] at
// sample_rate / hop_length steps per second <-> a mono waveform [1, 1, L·hop]. Weight-normalised
// convolutions are folded (w = g·v/‖v‖) once at load; the forward follows docs/upstream/vae.md.
#pragma once

#include <map>
#include <string>

#include "io/weight_set.h"
#include "models/dac_config.h"
#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

class DacVae {
 public:
  // Folds the weight norms on the host, then keeps the folded weights on the device
  // `weights` are placed on (WeightSet::place_on), where the passes run.
  DacVae(DacConfig config, const WeightSet& weights);

  // latents [1, C, L] -> waveform [1, 1, L·hop] in [-1, 1] (tanh output, not trimmed).
  Tensor decode(Exec& ex, const Tensor& latents) const;
  // waveform [1, 1, N] -> posterior mean [1, C, ceil(N/hop)] (zero-padded to a multiple of hop).
  Tensor encode(Exec& ex, const Tensor& audio) const;
  // Inputs and outputs of both passes are host tensors wherever the passes run.
  Device device() const { return device_; }

  const DacConfig& config() const { return config_; }

 private:
  struct Conv {
    Tensor weight;  // F32, folded
    Tensor bias;
  };
  const Conv& conv(const std::string& name) const;
  const Tensor& alpha(const std::string& name) const;
  Tensor snake(Exec& ex, const Tensor& x, const std::string& name) const;
  Tensor residual_unit(Exec& ex, const Tensor& x, const std::string& prefix,
                       int64_t dilation) const;

  DacConfig config_;
  Device device_;
  std::map<std::string, Conv> convs_;     // by module prefix, e.g. "decoder.model.1.block.1"
  std::map<std::string, Tensor> alphas_;  // Snake alpha [C], by module prefix
};

}  // namespace mova
