// Joins tensors along one dimension (torch.cat). All other sizes must agree; the result is a
// new contiguous F32 tensor. Empty (0-element along `dim`) inputs are allowed and skipped.
#pragma once

#include <vector>

#include "runtime/tensor.h"

namespace mova {

Tensor concat(const std::vector<Tensor>& parts, int dim);

}  // namespace mova
