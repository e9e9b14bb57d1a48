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

#include "attention_problem.h"
#include "runtime/cpu/gemm.h"
#include "runtime/cuda/attention_plan.h"

namespace mova {
namespace {

using cuda::AttentionChunk;
using cuda::AttentionShape;

using test::AttentionProblem;

std::vector<float> by_plan(const AttentionProblem& p, int64_t chunk_rows, float scale) {
  AttentionShape s;
  s.batch = p.B, s.q_len = p.Lq, s.kv_len = p.Lk, s.heads = p.H, s.head_dim = p.D;
  s.bias_heads = p.bias_heads ? p.bias_heads : 1;
  s.q = {p.q_stride(0), p.q_stride(1), p.q_stride(2)};
  s.k = s.v = {p.kv_stride(0), p.kv_stride(1), p.kv_stride(2)};
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
        if (p.mask && p.key_mask[c.mask_offset + j] == 0.0f) l += -FLT_MAX;
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

TEST(AttentionPlan, GemmCompositionMatchesTheAttentionOp) {
  struct Case {
    int64_t B, Lq, Lk, H, D, bias_heads, chunk;
    bool mask;
  };
  for (const Case& c : {Case{2, 45, 37, 3, 12, 3, 7, true}, Case{2, 45, 37, 3, 32, 1, 45, true},
                        Case{1, 30, 50, 1, 384, 0, 8, false}, Case{2, 1, 1, 2, 16, 2, 1, true}}) {
    AttentionProblem p;
    p.B = c.B, p.Lq = c.Lq, p.Lk = c.Lk, p.H = c.H, p.D = c.D;
    p.bias_heads = c.bias_heads, p.mask = c.mask;
    p.fill(7);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.D));
    EXPECT_LE(test::max_rel_error(by_plan(p, c.chunk, scale), p.cpu(scale)), 1e-5)
        << p.name() << " chunk " << c.chunk;
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
