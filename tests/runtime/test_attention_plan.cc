// The work list of the CUDA backend's attention for head sizes its fused kernels do not take
// (runtime/cuda/attention_plan.h), run on the host: each chunk's scores GEMM and P·v GEMM
// through the CPU GEMM with the operands, leading dimensions and transposes the backend gives
// cuBLASLt (blas.h keeps the CPU GEMM's conventions), the row softmax in double, must give the
// CPU attention op (max-rel 1e-5) for a strided q, several query chunks, a per-head or shared
// bias and a key mask with one batch entry fully padded. What stays unchecked without a GPU is
// the kernels' launch and the cuBLASLt calls themselves (tests/cuda covers those).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <vector>

#include "runtime/cpu/gemm.h"
#include "runtime/cuda/attention_plan.h"
#include "runtime/exec.h"
#include "runtime/ops/attention.h"
#include "test_util.h"

namespace mova {
namespace {

using cuda::AttentionChunk;
using cuda::AttentionShape;

constexpr int64_t kPad = 3;  // q is q_fused[..., 1 : 1 + D] of a [B, Lq, H, D + 3] tensor

struct Problem {
  int64_t B, Lq, Lk, H, D, bias_heads;  // bias_heads 0: no bias
  std::vector<float> q_fused, k, v, bias, mask;
};

Problem make_problem(int64_t B, int64_t Lq, int64_t Lk, int64_t H, int64_t D, int64_t bias_heads,
                     uint32_t seed) {
  Problem p{B, Lq, Lk, H, D, bias_heads, {}, {}, {}, {}, {}};
  p.q_fused = test::random_vector(B * Lq * H * (D + kPad), seed, -2.0f, 2.0f);
  p.k = test::random_vector(B * Lk * H * D, seed + 1, -2.0f, 2.0f);
  p.v = test::random_vector(B * Lk * H * D, seed + 2);
  if (bias_heads) p.bias = test::random_vector(bias_heads * Lq * Lk, seed + 3, -3.0f, 3.0f);
  p.mask.assign(B * Lk, 1.0f);
  for (int64_t j = 0; j < Lk; j += 3) p.mask[j] = 0.0f;  // batch 0: every third key
  if (B > 1) std::fill(p.mask.begin() + Lk, p.mask.begin() + 2 * Lk, 0.0f);  // batch 1: all
  return p;
}

std::vector<float> by_plan(const Problem& p, int64_t chunk_rows, float scale) {
  AttentionShape s;
  s.batch = p.B, s.q_len = p.Lq, s.kv_len = p.Lk, s.heads = p.H, s.head_dim = p.D;
  s.bias_heads = p.bias_heads ? p.bias_heads : 1;
  s.q = {p.Lq * p.H * (p.D + kPad), p.H * (p.D + kPad), p.D + kPad};
  s.k = s.v = {p.Lk * p.H * p.D, p.H * p.D, p.D};
  const float* q = p.q_fused.data() + 1;
  std::vector<float> out(p.B * p.Lq * p.H * p.D, NAN), scores(chunk_rows * p.Lk);
  cuda::for_each_attention_chunk(s, chunk_rows, [&](const AttentionChunk& c) {
    cpu::GemmProblem g;  // the backend's scores GEMM
    g.m = c.rows, g.n = p.Lk, g.k = p.D;
    g.a = q + c.q_offset, g.lda = s.q.pos;
    g.b = p.k.data() + c.k_offset, g.ldb = s.k.pos, g.trans_b = true;
    g.c = scores.data(), g.ldc = p.Lk;
    cpu::gemm(g, nullptr);
    for (int64_t r = 0; r < c.rows; ++r) {  // score_softmax's formula, in double
      std::vector<double> logit(p.Lk);
      double m = -INFINITY, sum = 0.0;
      for (int64_t j = 0; j < p.Lk; ++j) {
        double l = double(scores[r * p.Lk + j]) * scale;
        if (p.bias_heads) l += p.bias[c.bias_offset + r * p.Lk + j];
        if (p.mask[c.mask_offset + j] == 0.0f) l += -FLT_MAX;
        m = std::max(m, logit[j] = l);
      }
      for (int64_t j = 0; j < p.Lk; ++j) sum += std::exp(logit[j] - m);
      for (int64_t j = 0; j < p.Lk; ++j)
        scores[r * p.Lk + j] = static_cast<float>(std::exp(logit[j] - m) / sum);
    }
    cpu::GemmProblem pv;  // the backend's P·v GEMM
    pv.m = c.rows, pv.n = p.D, pv.k = p.Lk;
    pv.a = scores.data(), pv.lda = p.Lk;
    pv.b = p.v.data() + c.v_offset, pv.ldb = s.v.pos;
    pv.c = out.data() + c.out_offset, pv.ldc = p.H * p.D;
    cpu::gemm(pv, nullptr);
  });
  return out;
}

std::vector<float> by_op(const Problem& p, float scale) {
  Exec ex(2);
  const Tensor q = Tensor::from_vector({p.B, p.Lq, p.H, p.D + kPad}, p.q_fused).narrow(3, 1, p.D);
  const Tensor k = Tensor::from_vector({p.B, p.Lk, p.H, p.D}, p.k);
  const Tensor v = Tensor::from_vector({p.B, p.Lk, p.H, p.D}, p.v);
  const Tensor bias =
      p.bias_heads ? Tensor::from_vector({p.bias_heads, p.Lq, p.Lk}, p.bias) : Tensor();
  const Tensor mask = Tensor::from_vector({p.B, p.Lk}, p.mask);
  AttentionOptions o;
  o.bias = p.bias_heads ? &bias : nullptr;
  o.key_mask = &mask;
  o.scale = scale;
  return attention(ex, q, k, v, o).to_vector();
}

TEST(AttentionPlan, GemmCompositionMatchesTheAttentionOp) {
  struct Case {
    int64_t B, Lq, Lk, H, D, bias_heads, chunk;
  };
  for (const Case& c : {Case{2, 45, 37, 3, 12, 3, 7}, Case{2, 45, 37, 3, 32, 1, 45},
                        Case{1, 30, 50, 1, 384, 0, 8}, Case{2, 1, 1, 2, 16, 2, 1}}) {
    const Problem p = make_problem(c.B, c.Lq, c.Lk, c.H, c.D, c.bias_heads, 7);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.D));
    EXPECT_LE(test::max_rel_error(by_plan(p, c.chunk, scale), by_op(p, scale)), 1e-5)
        << "D " << c.D << " chunk " << c.chunk << " bias heads " << c.bias_heads;
  }
}

TEST(AttentionPlan, ChunksFitTheScoreBudget) {
  AttentionShape s;
  s.q_len = 14400, s.kv_len = 14400;  // the video VAE's attention on a 720p latent frame
  const int64_t rows = cuda::attention_chunk_rows(s, int64_t{256} << 20);
  EXPECT_EQ(rows, (int64_t{256} << 20) / (14400 * 4));
  EXPECT_LE(rows * s.kv_len * 4, int64_t{256} << 20);
  s.kv_len = int64_t{1} << 30;  // more keys than fit: still one row at a time
  EXPECT_EQ(cuda::attention_chunk_rows(s, int64_t{256} << 20), 1);
  s.q_len = 3, s.kv_len = 4;  // small: one chunk of every query
  EXPECT_EQ(cuda::attention_chunk_rows(s, int64_t{256} << 20), 3);
}

}  // namespace
}  // namespace mova
