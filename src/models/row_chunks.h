// Row-wise work over chunks of tokens, so that its temporaries exist for one chunk at a time.
// "Row-wise": row t of each result depends on row t of the chunked inputs alone (norms,
// projections, attention's queries against keys computed beforehand, gated residuals). Chunks
// then give one pass's values: bit for bit on the CPU; on a GPU a GEMM may take another
// cuBLASLt algorithm for a chunk's row count, so the last bits may differ.
// Tensors are [1, L, ...]; the rows are dimension 1.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

// What a model's default chunk keeps its widest per-chunk activation within, in F32 (the DiT's
// FFN hidden activation; the bridge's conditioned tokens).
constexpr uint64_t kRowChunkBytes = uint64_t{512} << 20;

// L rows go in the fewest chunks of at most `chunk` rows, of near-equal sizes.
// The tensors that `rows(first, n)` returns for consecutive chunks [first, first + n) of L rows,
// each assembled into one [1, L, ...] tensor of its first chunk's dtype and device. One chunk:
// its results themselves, no copy.
std::vector<Tensor> gather_row_chunks(
    Exec& ex, int64_t L, int64_t chunk,
    const std::function<std::vector<Tensor>(int64_t first, int64_t n)>& rows);

// x ← update(rows of x, first, n), chunk by chunk: each chunk's result is written over its rows
// of x, so no second x is ever held (at 720p the F32 residual stream is 3.6 GB). The update
// must read no row of x outside its own chunk. One chunk: x becomes the update's result, as a
// single pass makes it. x's storage is copied first when another tensor shares it, which would
// otherwise see the update. An error part way leaves x with some chunks updated.
void update_row_chunks(
    Exec& ex, Tensor& x, int64_t chunk,
    const std::function<Tensor(const Tensor& rows, int64_t first, int64_t n)>& update);

}  // namespace mova
