#include "runtime/ops/attention.h"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#include "runtime/backend.h"
#include "runtime/cpu/gemm.h"
#include "runtime/cpu/kernels.h"
#include "runtime/error.h"
#include "runtime/ops/handoff.h"
#include "runtime/profile.h"

namespace mova {
namespace {

constexpr int64_t kQueryTile = 64;
constexpr int64_t kKeyTile = 256;

void check_qkv(const Tensor& q, const Tensor& k, const Tensor& v) {
  for (const Tensor* t : {&q, &k, &v}) {
    check_handoff_dtype(*t, "attention");
    MOVA_CHECK(t->dim() == 4 && t->stride(3) == 1, ErrorKind::kShape, "attention: ", t->describe(),
               " must be [B, L, H, D] with a contiguous last dim");
  }
  MOVA_CHECK(q.size(0) == k.size(0) && k.size(0) == v.size(0) && q.size(2) == k.size(2) &&
                 k.size(2) == v.size(2) && q.size(3) == k.size(3) && k.size(1) == v.size(1),
             ErrorKind::kShape, "attention: q ", shape_str(q.shape()), ", k ", shape_str(k.shape()),
             ", v ", shape_str(v.shape()), " do not fit together");
}

void check_bias_and_mask(const Tensor& q, const Tensor& k, const AttentionOptions& opt) {
  const int64_t B = q.size(0), Lq = q.size(1), H = q.size(2), Lk = k.size(1);
  if (opt.bias) {
    const Tensor& b = *opt.bias;
    MOVA_CHECK(b.dtype() == DType::kF32 && b.dim() == 3 && b.is_contiguous() &&
                   (b.size(0) == 1 || b.size(0) == H) && b.size(1) == Lq && b.size(2) == Lk,
               ErrorKind::kShape, "attention: bias ", b.describe(),
               " must be contiguous F32 [1 or ", H, ", ", Lq, ", ", Lk, "]");
  }
  if (opt.key_mask) {
    const Tensor& m = *opt.key_mask;
    MOVA_CHECK(m.dtype() == DType::kF32 && m.is_contiguous() && m.dim() == 2 && m.size(0) == B &&
                   m.size(1) == Lk,
               ErrorKind::kShape, "attention: key_mask ", m.describe(), " must be F32 [", B, ", ",
               Lk, "]");
  }
  MOVA_CHECK(Lk > 0 || q.size(1) == 0, ErrorKind::kShape, "attention: no keys (k ", k.describe(),
             ")");
}

}  // namespace

Tensor attention(Exec& ex, const Tensor& q, const Tensor& k, const Tensor& v,
                 const AttentionOptions& opt) {
  check_qkv(q, k, v);
  check_bias_and_mask(q, k, opt);
  if (const Device d = common_device("attention", {&q, &k, &v, opt.bias, opt.key_mask});
      !d.is_cpu())
    return backend_for(d, "attention").attention(q, k, v, opt);
  const int64_t B = q.size(0), Lq = q.size(1), H = q.size(2), D = q.size(3);
  const int64_t Lk = k.size(1), Dv = v.size(3);
  const float scale = opt.scale != 0.0f ? opt.scale : 1.0f / std::sqrt(static_cast<float>(D));
  const float* bias = opt.bias ? opt.bias->data<float>() : nullptr;
  const int64_t bias_heads = opt.bias ? opt.bias->size(0) : 0;
  const float* mask = opt.key_mask ? opt.key_mask->data<float>() : nullptr;
  Tensor out = Tensor::empty({B, Lq, H, Dv}, DType::kF32, &ex.buffers());
  if (out.numel() == 0) return out;
  const int64_t q_tiles = (Lq + kQueryTile - 1) / kQueryTile;
  const int64_t tasks = B * H * q_tiles;
  const float* qp = q.data<float>();
  const float* kp = k.data<float>();
  const float* vp = v.data<float>();
  float* op = out.data<float>();

  profile::Scope scope(profile::Category::kAttention,
                       2.0 * B * H * Lq * Lk * static_cast<double>(D + Dv));
  ex.pool().parallel_for(tasks, 1, [&](int64_t t0, int64_t t1) {
    // Per-thread tiles: Q block, scores/probabilities, running max and sum, output block.
    std::vector<float> qb(kQueryTile * D), s(kQueryTile * kKeyTile), ob(kQueryTile * Dv);
    std::vector<float> row_max(kQueryTile), row_sum(kQueryTile);
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t qt = task % q_tiles;
      const int64_t h = (task / q_tiles) % H;
      const int64_t b = task / (q_tiles * H);
      const int64_t i0 = qt * kQueryTile;
      const int64_t rows = std::min(kQueryTile, Lq - i0);
      for (int64_t i = 0; i < rows; ++i) {
        const float* src = qp + b * q.stride(0) + (i0 + i) * q.stride(1) + h * q.stride(2);
        for (int64_t d = 0; d < D; ++d) qb[i * D + d] = src[d] * scale;
      }
      std::fill(row_max.begin(), row_max.end(), -INFINITY);
      std::fill(row_sum.begin(), row_sum.end(), 0.0f);
      std::fill(ob.begin(), ob.end(), 0.0f);

      for (int64_t j0 = 0; j0 < Lk; j0 += kKeyTile) {
        const int64_t cols = std::min(kKeyTile, Lk - j0);
        // s[rows, cols] = qb · k[j0:j0+cols]ᵀ
        cpu::GemmProblem sp;
        sp.m = rows;
        sp.n = cols;
        sp.k = D;
        sp.a = qb.data();
        sp.lda = D;
        sp.b = kp + b * k.stride(0) + j0 * k.stride(1) + h * k.stride(2);
        sp.ldb = k.stride(1);
        sp.trans_b = true;
        sp.c = s.data();
        sp.ldc = cols;
        cpu::gemm(sp, nullptr);
        for (int64_t i = 0; i < rows; ++i) {
          float* sr = s.data() + i * cols;
          if (bias) {
            const float* br = bias + ((bias_heads == 1 ? 0 : h) * Lq + i0 + i) * Lk + j0;
            for (int64_t j = 0; j < cols; ++j) sr[j] += br[j];
          }
          if (mask) {
            const float* mr = mask + b * Lk + j0;
            for (int64_t j = 0; j < cols; ++j)
              if (mr[j] == 0.0f) sr[j] += -FLT_MAX;
          }
          float m = row_max[i];
          for (int64_t j = 0; j < cols; ++j) m = std::max(m, sr[j]);
          if (m == -INFINITY) {
            // Every key so far has a −∞ bias: they weigh 0, and exp(−∞ − (−∞)) would be NaN.
            std::fill(sr, sr + cols, 0.0f);
            continue;
          }
          const float correction = std::exp(row_max[i] - m);  // 0 on the first tile
          const float sum = cpu::exp_shifted_sum(sr, cols, m);
          row_sum[i] = row_sum[i] * correction + sum;
          row_max[i] = m;
          if (correction != 1.0f)
            for (int64_t d = 0; d < Dv; ++d) ob[i * Dv + d] *= correction;
        }
        // ob[rows, Dv] += s[rows, cols] · v[j0:j0+cols]
        cpu::GemmProblem pv;
        pv.m = rows;
        pv.n = Dv;
        pv.k = cols;
        pv.a = s.data();
        pv.lda = cols;
        pv.b = vp + b * v.stride(0) + j0 * v.stride(1) + h * v.stride(2);
        pv.ldb = v.stride(1);
        pv.c = ob.data();
        pv.ldc = Dv;
        pv.accumulate = true;
        cpu::gemm(pv, nullptr);
      }
      for (int64_t i = 0; i < rows; ++i) {
        float* dst = op + ((b * Lq + i0 + i) * H + h) * Dv;
        const float inv = 1.0f / row_sum[i];
        for (int64_t d = 0; d < Dv; ++d) dst[d] = ob[i * Dv + d] * inv;
      }
    }
  });
  return out;
}

}  // namespace mova
