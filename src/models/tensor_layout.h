// The tensors a component's config implies: names exactly as in the PyTorch state_dict(), and
// shapes. Used to validate a downloaded checkpoint before any compute, and to generate tiny
// checkpoints in the published layout.
#pragma once

#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace mova {

class WeightSet;

// Role decides how `mova make-tiny` initialises a tensor; shape checks ignore it.
enum class ParamRole {
  kWeight,          // matrices and conv kernels: scaled random
  kBias,            // biases: small random
  kNormGain,        // norm scales: around 1
  kSnakeAlpha,      // DAC Snake alpha: positive around 1
  kWeightNormGain,  // weight_g of weight-normalised convs: the row norm of the folded weight
  kEmbedding,       // token embeddings
  kTableValue,      // small tables (modulations, relative position bias)
};

struct TensorSpec {
  std::string name;
  Shape shape;
  ParamRole role = ParamRole::kWeight;
};

class TensorLayout {
 public:
  void add(std::string name, Shape shape, ParamRole role = ParamRole::kWeight) {
    specs_.push_back({std::move(name), std::move(shape), role});
  }
  const std::vector<TensorSpec>& specs() const { return specs_; }
  int64_t parameter_count() const;
  const TensorSpec* find(const std::string& name) const;

 private:
  std::vector<TensorSpec> specs_;
};

// Throws one Error(kFormat) listing every missing, unexpected and mis-shaped tensor, and every
// tensor whose dtype is not floating point. `what` names the component folder.
void check_layout(const WeightSet& weights, const TensorLayout& layout, const std::string& what);

}  // namespace mova
