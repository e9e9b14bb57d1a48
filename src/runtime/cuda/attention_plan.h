// The work list of attention composed from GEMMs (the CUDA backend's path for head sizes the
// fused kernels do not take), as element offsets and leading dimensions. Free of CUDA headers,
// so the CPU tests run the same list through the CPU GEMM against the CPU attention.
#pragma once

#include <algorithm>
#include <cstdint>

namespace mova::cuda {

// Strides in elements of a [B, L, H, D] operand whose last dimension is contiguous.
struct HeadStrides {
  int64_t batch = 0, pos = 0, head = 0;
};

struct AttentionShape {
  int64_t batch = 0, q_len = 0, kv_len = 0, heads = 0, head_dim = 0;
  int64_t bias_heads = 1;  // of an optional [bias_heads, Lq, Lk] bias
  HeadStrides q, k, v;     // the output is [B, Lq, H, D] contiguous
};

// One chunk of queries of one (batch, head), in three steps:
//   scores[rows, Lk] = q[q_offset: rows × D, ld q.pos] · (k[k_offset: Lk × D, ld k.pos])ᵀ
//   P = softmax(scores·scale + bias[bias_offset: rows × Lk] + mask[mask_offset: Lk]) by rows
//   out[out_offset: rows × D, ld H·D] = P · v[v_offset: Lk × D, ld v.pos]
struct AttentionChunk {
  int64_t rows = 0;
  int64_t q_offset = 0, k_offset = 0, v_offset = 0, out_offset = 0;
  int64_t bias_offset = 0, mask_offset = 0;
};

// Query rows per chunk so that a chunk's F32 scores fit `score_bytes` (at least one row).
inline int64_t attention_chunk_rows(const AttentionShape& s, int64_t score_bytes) {
  return std::clamp<int64_t>(score_bytes / (std::max<int64_t>(s.kv_len, 1) * 4), 1,
                             std::max<int64_t>(s.q_len, 1));
}

template <typename Fn>
void for_each_attention_chunk(const AttentionShape& s, int64_t chunk_rows, Fn&& fn) {
  for (int64_t b = 0; b < s.batch; ++b) {
    for (int64_t h = 0; h < s.heads; ++h) {
      for (int64_t q0 = 0; q0 < s.q_len; q0 += chunk_rows) {
        AttentionChunk c;
        c.rows = std::min(chunk_rows, s.q_len - q0);
        c.q_offset = b * s.q.batch + h * s.q.head + q0 * s.q.pos;
        c.k_offset = b * s.k.batch + h * s.k.head;
        c.v_offset = b * s.v.batch + h * s.v.head;
        c.out_offset = ((b * s.q_len + q0) * s.heads + h) * s.head_dim;
        c.bias_offset = ((s.bias_heads == 1 ? 0 : h) * s.q_len + q0) * s.kv_len;
        c.mask_offset = b * s.kv_len;
        fn(c);
      }
    }
  }
}

}  // namespace mova::cuda
