#include "runtime/ops/gather.h"

#include "runtime/backend.h"
#include "runtime/error.h"

namespace mova {
namespace {

Tensor gather(Exec& ex, const Tensor& table, const Tensor& indices, bool transposed) {
  const char* op = transposed ? "gather_rows_transposed" : "gather_rows";
  const DType t = table.dtype();
  MOVA_CHECK(table.dim() == 2 && (t == DType::kF32 || t == DType::kBF16 || t == DType::kF16),
             ErrorKind::kShape, op, ": table ", table.describe(),
             " must be F32, BF16 or F16 [N, D]");
  MOVA_CHECK(indices.dim() == 1 && indices.dtype() == DType::kI64, ErrorKind::kShape, op,
             ": indices ", indices.describe(), " must be I64 [M]");
  if (const Device d = common_device(op, {&table, &indices}); !d.is_cpu())
    return backend_for(d, op).gather_rows(table, indices, transposed);
  const int64_t N = table.size(0), D = table.size(1), M = indices.size(0);
  const Tensor ic = indices.contiguous(&ex.buffers());
  const auto* idx = ic.data<int64_t>();
  for (int64_t i = 0; i < M; ++i)
    MOVA_CHECK(idx[i] >= 0 && idx[i] < N, ErrorKind::kInvalidArgument, op, ": index ", idx[i],
               " at position ", i, " is outside the ", N, " rows of ", table.describe());
  if (transposed) {
    // Meant for small tables: widened once, then each output row is written in order.
    const std::vector<float> tv = table.to_vector();
    Tensor out = Tensor::empty({D, M}, DType::kF32, &ex.buffers());
    float* po = out.data<float>();
    ex.pool().parallel_for(D, 1, [&](int64_t d0, int64_t d1) {
      for (int64_t d = d0; d < d1; ++d)
        for (int64_t i = 0; i < M; ++i) po[d * M + i] = tv[idx[i] * D + d];
    });
    return out;
  }
  const Tensor tc = table.contiguous(&ex.buffers());
  const auto* rows = static_cast<const uint8_t*>(tc.raw_data());
  const size_t row_bytes = static_cast<size_t>(D) * dtype_size(t);
  Tensor out = Tensor::empty({M, D}, DType::kF32, &ex.buffers());
  float* po = out.data<float>();
  ex.pool().parallel_for(M, 64, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i)
      convert_to_f32(rows + static_cast<size_t>(idx[i]) * row_bytes, t, po + i * D,
                     static_cast<size_t>(D));
  });
  return out;
}

}  // namespace

Tensor gather_rows(Exec& ex, const Tensor& table, const Tensor& indices) {
  return gather(ex, table, indices, false);
}

Tensor gather_rows_transposed(Exec& ex, const Tensor& table, const Tensor& indices) {
  return gather(ex, table, indices, true);
}

}  // namespace mova
