// Random attention inputs in the layout the attention tests share: q is a strided view
// (q_fused[..., 1 : 1 + D] of a [B, Lq, H, D + 3] tensor, as a fused projection gives), an
// optional [bias_heads, Lq, Lk] bias, an optional key mask (batch 0: every third key padded;
// batch 1, if any: every key); and the CPU attention op's result on them, the reference.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/error.h"
#include "runtime/exec.h"
#include "runtime/ops/attention.h"
#include "test_util.h"

namespace mova::test {

struct AttentionProblem {
  static constexpr int64_t kPad = 3;
  int64_t B = 1, Lq = 1, Lk = 1, H = 1, D = 1;
  int64_t bias_heads = 0;  // 0: no bias
  bool mask = false;
  std::vector<float> q_fused, k, v, bias, key_mask;

  AttentionProblem& fill(uint32_t seed) {
    q_fused = random_vector(B * Lq * H * (D + kPad), seed, -2.0f, 2.0f);
    k = random_vector(B * Lk * H * D, seed + 1, -2.0f, 2.0f);
    v = random_vector(B * Lk * H * D, seed + 2);
    bias = bias_heads ? random_vector(bias_heads * Lq * Lk, seed + 3, -3.0f, 3.0f)
                      : std::vector<float>();
    key_mask.clear();
    if (mask) {
      key_mask.assign(B * Lk, 1.0f);
      for (int64_t j = 0; j < Lk; j += 3) key_mask[j] = 0.0f;
      if (B > 1)
        for (int64_t j = 0; j < Lk; ++j) key_mask[Lk + j] = 0.0f;
    }
    return *this;
  }

  // Element strides of q (into q_fused, from its element 1) and of k and v: batch, pos, head.
  int64_t q_stride(int d) const {
    const int64_t s[] = {Lq * H * (D + kPad), H * (D + kPad), D + kPad};
    return s[d];
  }
  int64_t kv_stride(int d) const {
    const int64_t s[] = {Lk * H * D, H * D, D};
    return s[d];
  }

  // q as a contiguous [B, Lq, H, D] copy, from q_fused or a copy of it in another element type.
  template <typename Elem>
  std::vector<Elem> contiguous_q(const std::vector<Elem>& fused) const {
    std::vector<Elem> q;
    for (int64_t row = 0; row < B * Lq * H; ++row)
      for (int64_t i = 0; i < D; ++i) q.push_back(fused[row * (D + kPad) + 1 + i]);
    return q;
  }

  std::vector<float> cpu(float scale = 0.0f) const {
    Exec ex(2);
    const Tensor q = Tensor::from_vector({B, Lq, H, D + kPad}, q_fused).narrow(3, 1, D);
    const Tensor tk = Tensor::from_vector({B, Lk, H, D}, k);
    const Tensor tv = Tensor::from_vector({B, Lk, H, D}, v);
    const Tensor tb = bias_heads ? Tensor::from_vector({bias_heads, Lq, Lk}, bias) : Tensor();
    const Tensor tm = mask ? Tensor::from_vector({B, Lk}, key_mask) : Tensor();
    AttentionOptions o;
    o.bias = bias_heads ? &tb : nullptr;
    o.key_mask = mask ? &tm : nullptr;
    o.scale = scale;
    return attention(ex, q, tk, tv, o).to_vector();
  }

  std::string name() const {
    return str_cat("B", B, " Lq", Lq, " Lk", Lk, " H", H, " D", D, " bias heads ", bias_heads,
                   mask ? " mask" : "");
  }
};

}  // namespace mova::test
