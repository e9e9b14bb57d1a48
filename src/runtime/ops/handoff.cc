#include "runtime/ops/handoff.h"

#include "runtime/error.h"

namespace mova {

void check_handoff_dtype(const Tensor& x, const char* op) {
  MOVA_CHECK(x.dtype() == DType::kF32 || (x.dtype() == DType::kBF16 && !x.device().is_cpu()),
             ErrorKind::kShape, op, ": input ", x.describe(),
             " must be F32 (BF16 only on a device)");
}

}  // namespace mova
