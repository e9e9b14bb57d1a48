// The UMT5 text encoder (transformers UMT5EncoderModel) as MOVA uses it: T5 RMS norms, no
// biases, unscaled attention scores plus a relative position bias that every layer has its
// own copy of, gated-GELU (tanh) FFN. Math per docs/upstream/umt5.md.
#pragma once

#include <vector>

#include "io/weight_set.h"
#include "models/umt5_config.h"
#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

// T5's bidirectional relative-position bucket of (key − query).
int64_t relative_position_bucket(int64_t relative_position, int64_t num_buckets,
                                 int64_t max_distance);

class Umt5Encoder {
 public:
  Umt5Encoder(Umt5Config config, WeightSet weights);

  // ids and mask: L token ids and 0/1 flags (padded keys are masked in attention; padded
  // query rows are computed anyway, as upstream). Returns the last hidden state [1, L, d_model]
  // with rows at and past the real length (mask sum) zeroed, as MOVA's pipeline does.
  // Runs on the device the weights are placed on (WeightSet::place_on); returns a host tensor.
  Tensor encode(Exec& ex, const std::vector<int64_t>& ids, const std::vector<int64_t>& mask) const;

  const Umt5Config& config() const { return config_; }

 private:
  Tensor w(const std::string& name) const { return weights_.get(name); }

  Umt5Config config_;
  WeightSet weights_;
  std::string embedding_name_;
};

}  // namespace mova
