// Rows of a table by index (nn.Embedding, torch.index_select along dim 0).
#pragma once

#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

// out[i, :] = table[indices[i], :] as F32 [M, D]. `table` is F32, BF16 or F16 [N, D] (weights
// are widened); `indices` is I64 [M] on the table's device. On the host an index outside [0, N)
// is an error naming it; on a device, where the indices are not read back, such a row comes out
// NaN (the kernel never reads outside the table).
Tensor gather_rows(Exec& ex, const Tensor& table, const Tensor& indices);

// The same rows written as columns: out[:, i] = table[indices[i], :], F32 [D, M], without the
// transposing copy (the T5 position bias [heads, L·L] from a small [buckets, heads] table).
Tensor gather_rows_transposed(Exec& ex, const Tensor& table, const Tensor& indices);

}  // namespace mova
