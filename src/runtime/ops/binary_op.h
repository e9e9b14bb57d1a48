// The binary pointwise ops, in their own header so device kernels (compiled as C++17 by nvcc)
// name them without the tensor API.
#pragma once

namespace mova {

enum class BinaryOp { kAdd, kSub, kMul, kDiv };

}  // namespace mova
