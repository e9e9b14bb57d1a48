// The CUDA backend at the published sizes, with random BF16 weights: one Wan2.2-A14B video DiT
// block (dim 5120, 40 heads, ffn 13824, 512 text tokens) at 43,120 tokens (360p, 193 frames)
// and 176,400 (720p), and one audio DiT block (dim 1536, 12 heads, ffn 6144) at 402 tokens
// (8.04 s at 50 latents/s). The block is the CPU path's (models/wan_dit.cc) step for step:
// adaLN → self-attention (q/k RMSNorm, interleaved RoPE) → gated residual → LayerNorm →
// cross-attention → residual → adaLN → GELU FFN → gated residual; activations BF16, the
// residual stream F32, GEMMs F32-accumulated through cuBLASLt.
//
//   bench_cuda_dit_block [--config video360|video720|audio|all] [--iters N] [--json]
//
// `all` is video360 and audio; a 720p block holds 637 TFLOP of attention alone (seconds per
// block even on tensor cores), so video720 is asked for by name.
//
// Prints ms per stage group, the TFLOP/s of the GEMMs and of attention, and the device memory
// the block needed (weights + activations + cuBLASLt workspace, from cudaMemGetInfo).
// bench/torch_wan_block.py times the same block with PyTorch on the same GPU.
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/allocator.h"
#include "runtime/cuda/blas.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/device_memory.h"
#include "runtime/cuda/kernels/activation.h"
#include "runtime/cuda/kernels/attention.h"
#include "runtime/cuda/kernels/fill.h"
#include "runtime/cuda/kernels/norm.h"
#include "runtime/cuda/kernels/residual.h"
#include "runtime/cuda/kernels/rope.h"
#include "runtime/error.h"

namespace mova::cuda {
namespace {

struct BlockShape {
  std::string name;
  int64_t tokens, dim, heads, ffn, text_tokens;
};

const BlockShape kShapes[] = {
    {"video360", 43120, 5120, 40, 13824, 512},
    {"video720", 176400, 5120, 40, 13824, 512},
    {"audio", 402, 1536, 12, 6144, 512},
};

// Stage timing with CUDA events on one stream, summed per group after a sync.
class Stages {
 public:
  explicit Stages(cudaStream_t s) : stream_(s) {}
  ~Stages() {
    for (auto& r : records_) cudaEventDestroy(r.start), cudaEventDestroy(r.stop);
  }
  template <typename Fn>
  void run(const std::string& group, double flops, Fn&& fn) {
    Record r{group, flops, nullptr, nullptr};
    MOVA_CUDA_CHECK(cudaEventCreate(&r.start));
    MOVA_CUDA_CHECK(cudaEventCreate(&r.stop));
    MOVA_CUDA_CHECK(cudaEventRecord(r.start, stream_));
    fn();
    MOVA_CUDA_CHECK(cudaEventRecord(r.stop, stream_));
    records_.push_back(r);
  }
  struct Sum {
    double ms = 0, flops = 0;
  };
  std::map<std::string, Sum> totals() const {
    MOVA_CUDA_CHECK(cudaStreamSynchronize(stream_));
    std::map<std::string, Sum> out;
    for (const auto& r : records_) {
      float ms = 0;
      MOVA_CUDA_CHECK(cudaEventElapsedTime(&ms, r.start, r.stop));
      out[r.group].ms += ms;
      out[r.group].flops += r.flops;
    }
    return out;
  }

 private:
  struct Record {
    std::string group;
    double flops;
    cudaEvent_t start, stop;
  };
  cudaStream_t stream_;
  std::vector<Record> records_;
};

struct Linear {
  void* weight = nullptr;  // [out, in] BF16
  float* bias = nullptr;   // [out] F32
  int64_t in = 0, out = 0;
};

class Block {
 public:
  Block(const BlockShape& s, BufferPool& pool, uint64_t seed) : s_(s), pool_(pool), seed_(seed) {
    const int64_t D = s.dim;
    for (Linear* l : {&sq_, &sk_, &sv_, &so_, &cq_, &ck_, &cv_, &co_}) *l = linear(D, D);
    ffn0_ = linear(D, s.ffn);
    ffn2_ = linear(s.ffn, D);
    for (float** v : {&nq_, &nk_, &cnq_, &cnk_, &n3w_, &n3b_}) *v = vec(D, 0.5f, 1.5f);
    for (float*& m : mod_) m = vec(D, -0.1f, 0.1f);
    const int64_t L = s.tokens;
    x_ = static_cast<float*>(buffer(L * D * 4));
    fill_uniform(x_, DType::kF32, L * D, seed_++, -1.0f, 1.0f);
    context_ = buffer(s.text_tokens * D * 2);
    fill_uniform(context_, DType::kBF16, s.text_tokens * D, seed_++, -1.0f, 1.0f);
    const int64_t kv_rows = std::max(L, s.text_tokens);  // k, v hold the text's in cross-attention
    h_ = buffer(L * D * 2), q_ = buffer(L * D * 2), k_ = buffer(kv_rows * D * 2);
    v_ = buffer(kv_rows * D * 2), o_ = buffer(L * D * 2), f_ = buffer(L * s.ffn * 2);
    // RoPE angles: any values time the same; these are position × a geometric frequency.
    const int64_t pairs = D / s.heads / 2;
    std::vector<double> angle(L * pairs);
    for (int64_t l = 0; l < L; ++l)
      for (int64_t j = 0; j < pairs; ++j)
        angle[l * pairs + j] =
            static_cast<double>(l % 4096) * std::pow(10000.0, -double(j) / pairs);
    angle_ = static_cast<double*>(buffer(angle.size() * sizeof(double)));
    copy_to_device(angle_, angle.data(), angle.size() * sizeof(double));
  }

  void forward(Blas& blas, Stages& st, cudaStream_t stream) {
    const int64_t L = s_.tokens, D = s_.dim, T = s_.text_tokens;
    const float eps = 1e-6f;
    LayerNormParams ln;
    ln.eps = eps;
    ln.shift = mod_[0], ln.scale = mod_[1];
    st.run("norm+modulate", 0,
           [&] { layer_norm_modulate(x_, DType::kF32, h_, DType::kBF16, L, D, ln, stream); });
    attention_block(blas, st, stream, sq_, sk_, sv_, so_, nq_, nk_, h_, L, true);
    st.run("residual", 0, [&] { residual_gate(x_, o_, DType::kBF16, L, D, mod_[2], stream); });

    LayerNormParams n3;
    n3.eps = eps, n3.weight = n3w_, n3.bias = n3b_;
    st.run("norm+modulate", 0,
           [&] { layer_norm_modulate(x_, DType::kF32, h_, DType::kBF16, L, D, n3, stream); });
    attention_block(blas, st, stream, cq_, ck_, cv_, co_, cnq_, cnk_, context_, T, false);
    st.run("residual", 0, [&] { residual_gate(x_, o_, DType::kBF16, L, D, nullptr, stream); });

    ln.shift = mod_[3], ln.scale = mod_[4];
    st.run("norm+modulate", 0,
           [&] { layer_norm_modulate(x_, DType::kF32, h_, DType::kBF16, L, D, ln, stream); });
    gemm(blas, st, stream, "gemm ffn", h_, L, ffn0_, f_);
    st.run("gelu", 0, [&] {
      activation_inplace(Activation::kGeluTanh, f_, DType::kBF16, L * s_.ffn, stream);
    });
    gemm(blas, st, stream, "gemm ffn", f_, L, ffn2_, o_);
    st.run("residual", 0, [&] { residual_gate(x_, o_, DType::kBF16, L, D, mod_[5], stream); });
  }

 private:
  void* buffer(size_t bytes) {
    held_.push_back(pool_.allocate(bytes));
    return held_.back().get();
  }
  float* vec(int64_t n, float lo, float hi) {
    auto* p = static_cast<float*>(buffer(n * 4));
    fill_uniform(p, DType::kF32, n, seed_++, lo, hi);
    return p;
  }
  Linear linear(int64_t in, int64_t out) {
    Linear l{buffer(in * out * 2), vec(out, -0.02f, 0.02f), in, out};
    const float bound = 1.0f / std::sqrt(static_cast<float>(in));  // torch's Linear init scale
    fill_uniform(l.weight, DType::kBF16, in * out, seed_++, -bound, bound);
    return l;
  }

  void gemm(Blas& blas, Stages& st, cudaStream_t stream, const char* group, const void* x,
            int64_t rows, const Linear& l, void* y) {
    DeviceGemm g;
    g.m = rows, g.n = l.out, g.k = l.in;
    g.a = x, g.lda = l.in;
    g.b = l.weight, g.ldb = l.in, g.trans_b = true;
    g.ab_dtype = DType::kBF16, g.c_dtype = DType::kBF16;
    g.c = y, g.ldc = l.out;
    g.bias = l.bias;
    st.run(group, 2.0 * rows * l.out * l.in, [&] { blas.gemm(g, stream); });
  }

  // q from h_ [L, D]; k, v from `kv` [kv_len, D]; output projection into o_.
  void attention_block(Blas& blas, Stages& st, cudaStream_t stream, const Linear& wq,
                       const Linear& wk, const Linear& wv, const Linear& wo, const float* nq,
                       const float* nk, const void* kv, int64_t kv_len, bool self) {
    const int64_t L = s_.tokens, D = s_.dim, H = s_.heads, hd = D / H;
    gemm(blas, st, stream, "gemm qkvo", h_, L, wq, q_);
    gemm(blas, st, stream, "gemm qkvo", kv, kv_len, wk, k_);
    gemm(blas, st, stream, "gemm qkvo", kv, kv_len, wv, v_);
    st.run("q/k norm+rope", 0, [&] {
      rms_norm(q_, q_, DType::kBF16, L, D, nq, 1e-6f, stream);
      rms_norm(k_, k_, DType::kBF16, kv_len, D, nk, 1e-6f, stream);
      if (self) {
        rope_interleaved(q_, q_, DType::kBF16, {1, L, H, hd}, angle_, stream);
        rope_interleaved(k_, k_, DType::kBF16, {1, L, H, hd}, angle_, stream);
      }
    });
    AttentionArgs a;
    a.q = q_, a.k = k_, a.v = v_, a.out = h_;  // h_ is free again once q is projected
    a.q_strides = {L * D, D, hd};
    a.k_strides = a.v_strides = {kv_len * D, D, hd};
    a.dtype = DType::kBF16;
    a.batch = 1, a.q_len = L, a.kv_len = kv_len, a.heads = H, a.head_dim = hd;
    st.run(self ? "self-attention" : "cross-attention", 4.0 * L * kv_len * D,
           [&] { attention(a, stream); });
    gemm(blas, st, stream, "gemm qkvo", h_, L, wo, o_);
  }

  BlockShape s_;
  BufferPool& pool_;
  uint64_t seed_;
  std::vector<std::shared_ptr<void>> held_;
  Linear sq_, sk_, sv_, so_, cq_, ck_, cv_, co_, ffn0_, ffn2_;
  float *nq_, *nk_, *cnq_, *cnk_, *n3w_, *n3b_;
  float* mod_[6];
  float* x_;
  void *context_, *h_, *q_, *k_, *v_, *o_, *f_;
  double* angle_;
};

size_t used_bytes() {
  size_t free = 0, total = 0;
  MOVA_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return total - free;
}

void bench(const BlockShape& s, int iters, bool json) {
  cudaStream_t stream = nullptr;
  const size_t before = used_bytes();
  std::map<std::string, Stages::Sum> sum;
  size_t peak = 0;
  {
    BufferPool pool(device_allocator(0));
    Blas blas(0);
    Block block(s, pool, 1234);
    {
      Stages warm(stream);
      block.forward(blas, warm, stream);
      warm.totals();
    }
    for (int i = 0; i < iters; ++i) {
      Stages st(stream);
      block.forward(blas, st, stream);
      for (const auto& [group, t] : st.totals()) sum[group].ms += t.ms, sum[group].flops += t.flops;
    }
    peak = used_bytes() - before;
  }
  double total_ms = 0;
  for (auto& [group, t] : sum) t.ms /= iters, t.flops /= iters, total_ms += t.ms;
  const double gib = static_cast<double>(peak) / (1 << 30);
  if (json) {
    std::printf("{\"config\": \"%s\", \"tokens\": %lld, \"block_ms\": %.3f, \"device_gib\": %.2f",
                s.name.c_str(), static_cast<long long>(s.tokens), total_ms, gib);
    for (const auto& [group, t] : sum) {
      std::printf(", \"%s_ms\": %.3f", group.c_str(), t.ms);
      if (t.flops > 0)
        std::printf(", \"%s_tflops\": %.1f", group.c_str(), t.flops / (t.ms * 1e-3) / 1e12);
    }
    std::printf("}\n");
    return;
  }
  std::printf("%s: %lld tokens, dim %lld, %lld heads, ffn %lld — %.2f ms per block, %.2f GiB\n",
              s.name.c_str(), static_cast<long long>(s.tokens), static_cast<long long>(s.dim),
              static_cast<long long>(s.heads), static_cast<long long>(s.ffn), total_ms, gib);
  for (const auto& [group, t] : sum) {
    std::printf("  %-16s %9.3f ms", group.c_str(), t.ms);
    if (t.flops > 0) std::printf("  %7.1f TFLOP/s", t.flops / (t.ms * 1e-3) / 1e12);
    std::printf("\n");
  }
}

int run(int argc, char** argv) {
  std::string config = "all";
  int iters = 3;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config = argv[++i];
    } else if (a == "--iters" && i + 1 < argc) {
      iters = std::atoi(argv[++i]);
    } else if (a == "--json") {
      json = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--config video360|video720|audio|all] [--iters N] [--json]\n",
                   argv[0]);
      return 2;
    }
  }
  if (iters < 1) fail(ErrorKind::kInvalidArgument, "--iters ", iters, ": must be at least 1");
  if (device_count() == 0) {
    std::fprintf(stderr, "bench_cuda_dit_block: no CUDA device on this machine\n");
    return 3;
  }
  if (!json) std::printf("%s\n", describe(device_info(0)).c_str());
  bool any = false;
  for (const BlockShape& s : kShapes)
    if ((config == "all" && s.name != "video720") || config == s.name)
      bench(s, iters, json), any = true;
  if (!any)
    fail(ErrorKind::kInvalidArgument, "--config ", config,
         ": not one of video360, video720, audio, all");
  return 0;
}

}  // namespace
}  // namespace mova::cuda

int main(int argc, char** argv) {
  try {
    return mova::cuda::run(argc, argv);
  } catch (const mova::Error& e) {
    std::fprintf(stderr, "bench_cuda_dit_block: %s\n", e.what());
    return 1;
  }
}
