#include "models/row_chunks.h"

#include <algorithm>

#include "runtime/error.h"

namespace mova {
namespace {

void check_rows(const Tensor& t, int64_t n, const char* what) {
  MOVA_CHECK(t.dim() >= 2 && t.size(0) == 1 && t.size(1) == n, ErrorKind::kInternal, what, ": ",
             t.describe(), " is not [1, ", n, ", ...]");
}

// Chunks of near-equal size, none above `chunk`: 43,120 tokens in chunks of at most 9,709 are
// five of 8,624, not four full ones and a fifth of 4,284 that would leave most of a GPU idle.
template <class F>
void for_each_chunk(int64_t L, int64_t chunk, F&& f) {
  MOVA_CHECK(L > 0 && chunk > 0, ErrorKind::kInternal, "row chunks of ", chunk, " over ", L,
             " rows");
  const int64_t count = (L + chunk - 1) / chunk;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t first = L * i / count, end = L * (i + 1) / count;
    f(first, end - first);
  }
}

}  // namespace

std::vector<Tensor> gather_row_chunks(
    Exec& ex, int64_t L, int64_t chunk,
    const std::function<std::vector<Tensor>(int64_t first, int64_t n)>& rows) {
  if (L > 0 && L <= chunk) return rows(0, L);
  std::vector<Tensor> out;
  for_each_chunk(L, chunk, [&](int64_t first, int64_t n) {
    const std::vector<Tensor> got = rows(first, n);
    if (out.empty()) {
      for (const Tensor& t : got) {
        check_rows(t, n, "gather_row_chunks");
        Shape shape = t.shape();
        shape[1] = L;
        out.push_back(t.empty_here(shape, t.dtype(), &ex.buffers()));
      }
    }
    MOVA_CHECK(got.size() == out.size(), ErrorKind::kInternal, "gather_row_chunks: ", got.size(),
               " results for rows ", first, ", ", out.size(), " before");
    for (size_t i = 0; i < got.size(); ++i) {
      Tensor into = out[i].narrow(1, first, n);
      MOVA_CHECK(got[i].shape() == into.shape() && got[i].dtype() == into.dtype(),
                 ErrorKind::kInternal, "gather_row_chunks: ", got[i].describe(), " for rows ",
                 into.describe());
      into.copy_from(got[i]);
    }
  });
  return out;
}

void update_row_chunks(
    Exec& ex, Tensor& x, int64_t chunk,
    const std::function<Tensor(const Tensor& rows, int64_t first, int64_t n)>& update) {
  MOVA_CHECK(x.dim() >= 2 && x.size(0) == 1, ErrorKind::kInternal,
             "update_row_chunks: ", x.describe(), " is not [1, L, ...]");
  const int64_t L = x.size(1);
  if (L <= chunk) {
    x = update(x, 0, L);
    return;
  }
  if (x.storage_shared() || !x.is_contiguous()) x = x.clone(&ex.buffers());
  for_each_chunk(L, chunk, [&](int64_t first, int64_t n) {
    Tensor rows = x.narrow(1, first, n);
    const Tensor updated = update(rows, first, n);
    MOVA_CHECK(updated.shape() == rows.shape() && updated.dtype() == rows.dtype(),
               ErrorKind::kInternal, "update_row_chunks: ", updated.describe(), " for rows ",
               rows.describe());
    rows.copy_from(updated);
  });
}

}  // namespace mova
