// The CUDA backend at the published sizes, with random BF16 weights: one Wan2.2-A14B video DiT
// block (dim 5120, 40 heads, ffn 13824, 512 text tokens) at 43,120 tokens (360p, 193 frames)
// and 176,400 (720p), one audio DiT block (dim 1536, 12 heads, ffn 6144) at 402 tokens
// (8.04 s at 50 latents/s), and one bridge layer between those towers (both cross-attention
// directions). The block is the CPU path's (models/wan_dit.cc) step for step:
// adaLN → self-attention (q/k RMSNorm, interleaved RoPE) → gated residual → LayerNorm →
// cross-attention → residual → adaLN → GELU FFN → gated residual; activations BF16, the
// residual stream F32, GEMMs F32-accumulated through cuBLASLt.
//
//   bench_cuda_dit_block [--config video360|video720|audio|bridge|bridge720|all|tiny]
//                        [--attention auto|mova|cudnn] [--iters N] [--json]
//
// --attention picks what runs attention: `auto` (the default, as the backend does) cuDNN's
// fused SDPA where it applies and cuDNN is loadable (runtime/cuda/cudnn_attention.h), else
// mova's tensor-core kernel; `mova` that kernel always; `cudnn` cuDNN or an error. Each record
// says which ran ("attention": "cudnn", "mova", or "mixed" when cuDNN declined some shapes).
//
// `all` is video360, audio and bridge, then a full joint CFG step at 360p composed from them
// (2 passes × 40 video blocks, 30 audio blocks, 30 bridge layers); a 720p block holds 637 TFLOP
// of attention alone (seconds per block even on tensor cores), so the 720p shapes are asked
// for by name. `tiny` (a block and a bridge layer at toy sizes) only checks that the program
// runs: the CUDA emulator's ctest runs it (tests/cuda_emulator).
//
// Prints ms per stage group, the TFLOP/s of the GEMMs and of attention, and the device memory
// the module needed (weights + activations + cuBLASLt workspace, from cudaMemGetInfo).
// bench/torch_wan_block.py times the same modules with PyTorch on the same GPU.
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
#include "runtime/cuda/cudnn_attention.h"
#include "runtime/cuda/cudnn_library.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/device_memory.h"
#include "runtime/cuda/kernels/activation.h"
#include "runtime/cuda/kernels/attention.h"
#include "runtime/cuda/kernels/fill.h"
#include "runtime/cuda/kernels/norm.h"
#include "runtime/cuda/kernels/residual.h"
#include "runtime/cuda/kernels/rope.h"
#include "runtime/cuda/kernels/strided.h"
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
    {"tiny", 96, 256, 2, 512, 16},  // head_dim 128 like the towers; a partial 64-row tile
};

// One bridge layer between a video tower of `video_tokens` (49 latent frames) and an audio
// tower of `audio_tokens`.
struct BridgeShape {
  std::string name;
  int64_t video_tokens, audio_tokens, video_dim, audio_dim, head_dim;
};

const BridgeShape kBridgeShapes[] = {
    {"bridge", 43120, 402, 5120, 1536, 128},
    {"bridge720", 176400, 402, 5120, 1536, 128},
    {"tiny-bridge", 2 * 49, 20, 256, 128, 128},
};
constexpr int64_t kLatentFrames = 49;                            // 193 video frames
constexpr double kAudioStepsPerLatentFrame = 50.0 / (24.0 / 4);  // audio_fps / (fps / stride)

// A full joint step with CFG at 360p, composed from the measured parts: two passes of 40 video
// blocks, 30 audio blocks and 30 bridge layers (the published depths; the bridge interacts at
// every shared layer). Embeddings, heads and the scheduler update are < 0.1 % of it.
constexpr int kVideoLayers = 40, kAudioLayers = 30, kBridgeLayers = 30, kPasses = 2;

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
  void* bias = nullptr;    // [out] BF16, as stored (cuBLASLt adds a bias of the output's dtype)
  int64_t in = 0, out = 0;
};

// The device buffers of one benchmarked module, filled with seeded random values; freed with it.
class Arena {
 public:
  Arena(BufferPool& pool, uint64_t seed) : pool_(pool), seed_(seed) {}
  void* buffer(size_t bytes) {
    held_.push_back(pool_.allocate(bytes));
    return held_.back().get();
  }
  void* random(int64_t n, DType dtype, float lo, float hi) {
    void* p = buffer(n * dtype_size(dtype));
    fill_uniform(p, dtype, n, seed_++, lo, hi);
    return p;
  }
  float* vec(int64_t n, float lo, float hi) {
    return static_cast<float*>(random(n, DType::kF32, lo, hi));
  }
  Linear linear(int64_t in, int64_t out) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(in));  // torch's Linear init scale
    return {random(in * out, DType::kBF16, -bound, bound), random(out, DType::kBF16, -0.02f, 0.02f),
            in, out};
  }

 private:
  BufferPool& pool_;
  uint64_t seed_;
  std::vector<std::shared_ptr<void>> held_;
};

// y [rows, l.out] = x [rows, l.in] · Wᵀ + b, BF16 in and out, F32 accumulation.
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

// What runs attention (--attention): cuDNN where `cudnn` is set and takes the problem, else
// mova's kernel; the count of each, for the records.
struct AttentionEngines {
  CudnnAttention* cudnn = nullptr;
  int by_cudnn = 0, by_mova = 0;
};
AttentionEngines engines;

// Multi-head attention over contiguous [len, heads·head_dim] BF16 q, k, v into `out`.
void attend(Stages& st, cudaStream_t stream, const char* group, const void* q, int64_t q_len,
            const void* k, const void* v, int64_t kv_len, int64_t heads, int64_t head_dim,
            void* out) {
  const int64_t D = heads * head_dim;
  AttentionArgs a;
  a.q = q, a.k = k, a.v = v, a.out = out;
  a.q_strides = {q_len * D, D, head_dim};
  a.k_strides = a.v_strides = {kv_len * D, D, head_dim};
  a.dtype = DType::kBF16;
  a.batch = 1, a.q_len = q_len, a.kv_len = kv_len, a.heads = heads, a.head_dim = head_dim;
  st.run(group, 4.0 * q_len * kv_len * D, [&] {
    if (engines.cudnn && engines.cudnn->run(a, stream)) {
      ++engines.by_cudnn;
    } else {
      attention(a, stream);
      ++engines.by_mova;
    }
  });
}

class Block {
 public:
  Block(const BlockShape& s, BufferPool& pool, uint64_t seed) : s_(s), w_(pool, seed) {
    const int64_t D = s.dim;
    for (Linear* l : {&sq_, &sk_, &sv_, &so_, &cq_, &ck_, &cv_, &co_}) *l = w_.linear(D, D);
    ffn0_ = w_.linear(D, s.ffn);
    ffn2_ = w_.linear(s.ffn, D);
    for (float** v : {&nq_, &nk_, &cnq_, &cnk_, &n3w_, &n3b_}) *v = w_.vec(D, 0.5f, 1.5f);
    for (float*& m : mod_) m = w_.vec(D, -0.1f, 0.1f);
    const int64_t L = s.tokens;
    x_ = static_cast<float*>(w_.random(L * D, DType::kF32, -1.0f, 1.0f));
    context_ = w_.random(s.text_tokens * D, DType::kBF16, -1.0f, 1.0f);
    const int64_t kv_rows = std::max(L, s.text_tokens);  // k, v hold the text's in cross-attention
    h_ = w_.buffer(L * D * 2), q_ = w_.buffer(L * D * 2), k_ = w_.buffer(kv_rows * D * 2);
    v_ = w_.buffer(kv_rows * D * 2), o_ = w_.buffer(L * D * 2), f_ = w_.buffer(L * s.ffn * 2);
    // RoPE angles: any values time the same; these are position × a geometric frequency.
    const int64_t pairs = D / s.heads / 2;
    std::vector<double> angle(L * pairs);
    for (int64_t l = 0; l < L; ++l)
      for (int64_t j = 0; j < pairs; ++j)
        angle[l * pairs + j] =
            static_cast<double>(l % 4096) * std::pow(10000.0, -double(j) / pairs);
    angle_ = static_cast<double*>(w_.buffer(angle.size() * sizeof(double)));
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
    st.run("residual", 0, [&] { residual_gate(x_, o_, DType::kBF16, L, D, mod_[2], x_, stream); });

    LayerNormParams n3;
    n3.eps = eps, n3.weight = n3w_, n3.bias = n3b_;
    st.run("norm+modulate", 0,
           [&] { layer_norm_modulate(x_, DType::kF32, h_, DType::kBF16, L, D, n3, stream); });
    attention_block(blas, st, stream, cq_, ck_, cv_, co_, cnq_, cnk_, context_, T, false);
    st.run("residual", 0, [&] { residual_gate(x_, o_, DType::kBF16, L, D, nullptr, x_, stream); });

    ln.shift = mod_[3], ln.scale = mod_[4];
    st.run("norm+modulate", 0,
           [&] { layer_norm_modulate(x_, DType::kF32, h_, DType::kBF16, L, D, ln, stream); });
    gemm(blas, st, stream, "gemm ffn", h_, L, ffn0_, f_);
    st.run("gelu", 0,
           [&] { activation(Activation::kGeluTanh, f_, f_, DType::kBF16, L * s_.ffn, stream); });
    gemm(blas, st, stream, "gemm ffn", f_, L, ffn2_, o_);
    st.run("residual", 0, [&] { residual_gate(x_, o_, DType::kBF16, L, D, mod_[5], x_, stream); });
  }

 private:
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
    // h_ is free again once q is projected.
    attend(st, stream, self ? "self-attention" : "cross-attention", q_, L, k_, v_, kv_len, H, hd,
           h_);
    gemm(blas, st, stream, "gemm qkvo", h_, L, wo, o_);
  }

  BlockShape s_;
  Arena w_;
  Linear sq_, sk_, sv_, so_, cq_, ck_, cv_, co_, ffn0_, ffn2_;
  float *nq_, *nk_, *cnq_, *cnk_, *n3w_, *n3b_;
  float* mod_[6];
  float* x_;
  void *context_, *h_, *q_, *k_, *v_, *o_, *f_;
  double* angle_;
};

// One bridge layer (models/bridge.cc; upstream's DualTowerConditionalBridge at one interacting
// layer): audio→video cross-attention (queries from the video tokens, 40 heads) and
// video→audio (queries from the audio tokens, 12 heads), both reading the states from before
// the layer. The keys' tower goes through an affine LayerNorm, the queries' tower does not;
// q/k RMSNorm over the full width, rotate-half RoPE on q and k with each tower's positions on
// the audio clock, plain residual adds into the F32 streams; GEMM inputs BF16.
class BridgeLayer {
 public:
  BridgeLayer(const BridgeShape& s, BufferPool& pool, uint64_t seed) : s_(s), w_(pool, seed) {
    const int64_t Lv = s.video_tokens, La = s.audio_tokens, Dv = s.video_dim, Da = s.audio_dim;
    a2v_ = direction(Dv, Da, Lv, La);
    v2a_ = direction(Da, Dv, La, Lv);
    video_ = static_cast<float*>(w_.random(Lv * Dv, DType::kF32, -1.0f, 1.0f));
    audio_ = static_cast<float*>(w_.random(La * Da, DType::kF32, -1.0f, 1.0f));
    video_bf16_ = w_.buffer(Lv * Dv * 2), video_normed_ = w_.buffer(Lv * Dv * 2);
    audio_bf16_ = w_.buffer(La * Da * 2), audio_normed_ = w_.buffer(La * Da * 2);
    const int64_t per_frame = Lv / kLatentFrames;
    rotary(
        Lv, [&](int64_t l) { return (l / per_frame) * kAudioStepsPerLatentFrame; }, &video_cos_,
        &video_sin_);
    rotary(
        La, [](int64_t l) { return static_cast<double>(l); }, &audio_cos_, &audio_sin_);
  }

  void forward(Blas& blas, Stages& st, cudaStream_t stream) {
    const int64_t Lv = s_.video_tokens, La = s_.audio_tokens, Dv = s_.video_dim, Da = s_.audio_dim;
    st.run("cast+norm", 0, [&] {
      to_bf16(video_, video_bf16_, Lv, Dv, stream);
      to_bf16(audio_, audio_bf16_, La, Da, stream);
      layer_norm(video_, video_normed_, Lv, Dv, v2a_, stream);
      layer_norm(audio_, audio_normed_, La, Da, a2v_, stream);
    });
    cross(blas, st, stream, "a2v attention", a2v_, video_bf16_, Lv, video_cos_, video_sin_,
          audio_normed_, La, audio_cos_, audio_sin_);
    cross(blas, st, stream, "v2a attention", v2a_, audio_bf16_, La, audio_cos_, audio_sin_,
          video_normed_, Lv, video_cos_, video_sin_);
    st.run("residual", 0, [&] {
      residual_gate(video_, a2v_.out, DType::kBF16, Lv, Dv, nullptr, video_, stream);
      residual_gate(audio_, v2a_.out, DType::kBF16, La, Da, nullptr, audio_, stream);
    });
  }

 private:
  // One direction: queries from a tower of width `dim`, keys and values from one of `kv_dim`.
  struct Direction {
    Linear q, k, v, o;
    float *norm_q, *norm_k, *y_norm_weight, *y_norm_bias;
    int64_t dim;
    void *q_buf, *k_buf, *v_buf, *attn, *out;
  };

  Direction direction(int64_t dim, int64_t kv_dim, int64_t q_len, int64_t kv_len) {
    Direction d;
    d.q = w_.linear(dim, dim), d.o = w_.linear(dim, dim);
    d.k = w_.linear(kv_dim, dim), d.v = w_.linear(kv_dim, dim);
    d.norm_q = w_.vec(dim, 0.5f, 1.5f), d.norm_k = w_.vec(dim, 0.5f, 1.5f);
    d.y_norm_weight = w_.vec(kv_dim, 0.5f, 1.5f), d.y_norm_bias = w_.vec(kv_dim, -0.1f, 0.1f);
    d.dim = dim;
    d.q_buf = w_.buffer(q_len * dim * 2), d.attn = w_.buffer(q_len * dim * 2);
    d.out = w_.buffer(q_len * dim * 2);
    d.k_buf = w_.buffer(kv_len * dim * 2), d.v_buf = w_.buffer(kv_len * dim * 2);
    return d;
  }

  // cos and sin [L, head_dim] of position(l) · 10000^(−2j/head_dim), the angles repeated over
  // both halves (the rotate-half convention).
  template <typename Position>
  void rotary(int64_t L, Position position, float** cos, float** sin) {
    const int64_t hd = s_.head_dim, half = hd / 2;
    std::vector<double> inv_freq(half);
    for (int64_t j = 0; j < half; ++j)
      inv_freq[j] = std::pow(10000.0, -2.0 * static_cast<double>(j) / static_cast<double>(hd));
    std::vector<float> c(L * hd), sn(L * hd);
    for (int64_t l = 0; l < L; ++l)
      for (int64_t j = 0; j < hd; ++j) {
        const double angle = position(l) * inv_freq[j % half];
        c[l * hd + j] = static_cast<float>(std::cos(angle));
        sn[l * hd + j] = static_cast<float>(std::sin(angle));
      }
    *cos = static_cast<float*>(w_.buffer(c.size() * 4));
    *sin = static_cast<float*>(w_.buffer(sn.size() * 4));
    copy_to_device(*cos, c.data(), c.size() * 4);
    copy_to_device(*sin, sn.data(), sn.size() * 4);
  }

  static void to_bf16(const float* x, void* y, int64_t rows, int64_t dim, cudaStream_t stream) {
    StridedLayout l;
    l.rank = 2, l.shape[0] = rows, l.shape[1] = dim, l.strides[0] = dim, l.strides[1] = 1;
    copy_strided(y, DType::kBF16, l, x, DType::kF32, l, stream);
  }

  // The keys' tower through direction d's affine LayerNorm (y_norm).
  static void layer_norm(const float* x, void* y, int64_t rows, int64_t dim, const Direction& d,
                         cudaStream_t stream) {
    LayerNormParams p;
    p.eps = 1e-6f, p.weight = d.y_norm_weight, p.bias = d.y_norm_bias;
    layer_norm_modulate(x, DType::kF32, y, DType::kBF16, rows, dim, p, stream);
  }

  void cross(Blas& blas, Stages& st, cudaStream_t stream, const char* group, const Direction& d,
             const void* x, int64_t Lx, const float* x_cos, const float* x_sin, const void* y,
             int64_t Ly, const float* y_cos, const float* y_sin) {
    const int64_t hd = s_.head_dim, H = d.dim / hd;
    gemm(blas, st, stream, "gemm qkvo", x, Lx, d.q, d.q_buf);
    gemm(blas, st, stream, "gemm qkvo", y, Ly, d.k, d.k_buf);
    gemm(blas, st, stream, "gemm qkvo", y, Ly, d.v, d.v_buf);
    st.run("q/k norm+rope", 0, [&] {
      rms_norm(d.q_buf, d.q_buf, DType::kBF16, Lx, d.dim, d.norm_q, 1e-6f, stream);
      rms_norm(d.k_buf, d.k_buf, DType::kBF16, Ly, d.dim, d.norm_k, 1e-6f, stream);
      rope_rotate_half(d.q_buf, d.q_buf, DType::kBF16, {1, Lx, H, hd}, x_cos, x_sin, stream);
      rope_rotate_half(d.k_buf, d.k_buf, DType::kBF16, {1, Ly, H, hd}, y_cos, y_sin, stream);
    });
    attend(st, stream, group, d.q_buf, Lx, d.k_buf, d.v_buf, Ly, H, hd, d.attn);
    gemm(blas, st, stream, "gemm qkvo", d.attn, Lx, d.o, d.out);
  }

  BridgeShape s_;
  Arena w_;
  Direction a2v_{}, v2a_{};
  float *video_, *audio_;
  void *video_bf16_, *video_normed_, *audio_bf16_, *audio_normed_;
  float *video_cos_ = nullptr, *video_sin_ = nullptr, *audio_cos_ = nullptr, *audio_sin_ = nullptr;
};

size_t used_bytes() {
  size_t free = 0, total = 0;
  MOVA_CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return total - free;
}

struct Result {
  std::string name;
  int64_t tokens = 0;
  double ms = 0, gib = 0;
  std::map<std::string, Stages::Sum> groups;  // per iteration
  std::string attention;                      // cudnn, mova or mixed
};

// The mean of `iters` forwards after one warm-up, with the device memory the module needed.
template <typename Module, typename Shape>
Result measure(const Shape& s, int64_t tokens, int iters) {
  cudaStream_t stream = nullptr;
  const size_t before = used_bytes();
  Result r;
  r.name = s.name, r.tokens = tokens;
  engines.by_cudnn = engines.by_mova = 0;
  {
    BufferPool pool(device_allocator(0));
    Blas blas(0);
    Module module(s, pool, 1234);
    {
      Stages warm(stream);
      module.forward(blas, warm, stream);
      warm.totals();
    }
    for (int i = 0; i < iters; ++i) {
      Stages st(stream);
      module.forward(blas, st, stream);
      for (const auto& [group, t] : st.totals())
        r.groups[group].ms += t.ms, r.groups[group].flops += t.flops;
    }
    r.gib = static_cast<double>(used_bytes() - before) / (1 << 30);
  }
  for (auto& [group, t] : r.groups) t.ms /= iters, t.flops /= iters, r.ms += t.ms;
  r.attention = engines.by_mova + engines.by_cudnn == 0 ? "none"
                : engines.by_mova == 0                  ? "cudnn"
                : engines.by_cudnn == 0                 ? "mova"
                                                        : "mixed";
  return r;
}

void print(const Result& r, const std::string& title, bool json) {
  if (json) {
    std::printf(
        "{\"config\": \"%s\", \"tokens\": %lld, \"block_ms\": %.3f, \"device_gib\": "
        "%.2f, \"attention\": \"%s\"",
        r.name.c_str(), static_cast<long long>(r.tokens), r.ms, r.gib, r.attention.c_str());
    for (const auto& [group, t] : r.groups) {
      std::printf(", \"%s_ms\": %.3f", group.c_str(), t.ms);
      if (t.flops > 0)
        std::printf(", \"%s_tflops\": %.1f", group.c_str(), t.flops / (t.ms * 1e-3) / 1e12);
    }
    std::printf("}\n");
    return;
  }
  std::printf("%s — %.2f ms, %.2f GiB, attention by %s\n", title.c_str(), r.ms, r.gib,
              r.attention.c_str());
  for (const auto& [group, t] : r.groups) {
    std::printf("  %-16s %9.3f ms", group.c_str(), t.ms);
    if (t.flops > 0) std::printf("  %7.1f TFLOP/s", t.flops / (t.ms * 1e-3) / 1e12);
    std::printf("\n");
  }
}

void print_step(const std::map<std::string, Result>& done, bool json) {
  const auto v = done.find("video360"), a = done.find("audio"), b = done.find("bridge");
  if (v == done.end() || a == done.end() || b == done.end()) return;
  const double ms = kPasses * (kVideoLayers * v->second.ms + kAudioLayers * a->second.ms +
                               kBridgeLayers * b->second.ms);
  char formula[96];
  std::snprintf(formula, sizeof formula, "%d x (%d video360 + %d audio + %d bridge)", kPasses,
                kVideoLayers, kAudioLayers, kBridgeLayers);
  if (json)
    std::printf("{\"config\": \"step360\", \"block_ms\": %.3f, \"composed\": \"%s\"}\n", ms,
                formula);
  else
    std::printf("joint CFG step at 360p, composed as %s: %.1f ms\n", formula, ms);
}

// --attention cudnn promises cuDNN's timings: a shape it declined (run by mova's kernel) fails.
void require_engine(const Result& r, const std::string& choice) {
  if (choice == "cudnn" && r.attention != "cudnn")
    fail(ErrorKind::kUnsupported, "--attention cudnn: ", r.name, "'s attention ran by ",
         r.attention, " (cuDNN declined a shape; mova --log-level info says why)");
}

int run(int argc, char** argv) {
  std::string config = "all", attention_choice = "auto";
  int iters = 3;
  bool json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--config" && i + 1 < argc) {
      config = argv[++i];
    } else if (a == "--attention" && i + 1 < argc) {
      attention_choice = argv[++i];
    } else if (a == "--iters" && i + 1 < argc) {
      iters = std::atoi(argv[++i]);
    } else if (a == "--json") {
      json = true;
    } else {
      std::fprintf(stderr,
                   "usage: %s [--config video360|video720|audio|bridge|bridge720|all|tiny] "
                   "[--attention auto|mova|cudnn] [--iters N] [--json]\n",
                   argv[0]);
      return 2;
    }
  }
  if (iters < 1) fail(ErrorKind::kInvalidArgument, "--iters ", iters, ": must be at least 1");
  if (attention_choice != "auto" && attention_choice != "mova" && attention_choice != "cudnn")
    fail(ErrorKind::kInvalidArgument, "--attention ", attention_choice,
         ": not one of auto, mova, cudnn");
  const auto wanted = [&](const std::string& name) {
    const bool tiny = name.rfind("tiny", 0) == 0;
    return config == name || (config == "tiny" && tiny) ||
           (config == "all" && !tiny && name.find("720") == std::string::npos);
  };
  bool known = false;
  for (const BlockShape& s : kShapes) known |= wanted(s.name);
  for (const BridgeShape& s : kBridgeShapes) known |= wanted(s.name);
  if (!known)
    fail(ErrorKind::kInvalidArgument, "--config ", config,
         ": not one of video360, video720, audio, bridge, bridge720, all, tiny");
  if (device_count() == 0) {
    std::fprintf(stderr, "bench_cuda_dit_block: no CUDA device on this machine\n");
    return 3;
  }
  std::unique_ptr<CudnnAttention> cudnn;
  if (attention_choice != "mova") {
    cudnn = std::make_unique<CudnnAttention>(0);
    if (!cudnn->available() && attention_choice == "cudnn")
      fail(ErrorKind::kUnsupported, "--attention cudnn: cuDNN is ", cudnn_description());
    if (cudnn->available()) engines.cudnn = cudnn.get();
  }
  if (!json)
    std::printf("%s; cuDNN: %s\n", describe(device_info(0)).c_str(), cudnn_description().c_str());
  std::map<std::string, Result> done;
  for (const BlockShape& s : kShapes) {
    if (!wanted(s.name)) continue;
    const Result r = measure<Block>(s, s.tokens, iters);
    require_engine(r, attention_choice);
    char title[160];
    std::snprintf(title, sizeof title, "%s: %lld tokens, dim %lld, %lld heads, ffn %lld, block",
                  s.name.c_str(), static_cast<long long>(s.tokens), static_cast<long long>(s.dim),
                  static_cast<long long>(s.heads), static_cast<long long>(s.ffn));
    print(r, title, json);
    done[s.name] = r;
  }
  for (const BridgeShape& s : kBridgeShapes) {
    if (!wanted(s.name)) continue;
    const Result r = measure<BridgeLayer>(s, s.video_tokens, iters);
    require_engine(r, attention_choice);
    char title[160];
    std::snprintf(title, sizeof title, "%s: %lld video × %lld audio tokens, dims %lld/%lld, layer",
                  s.name.c_str(), static_cast<long long>(s.video_tokens),
                  static_cast<long long>(s.audio_tokens), static_cast<long long>(s.video_dim),
                  static_cast<long long>(s.audio_dim));
    print(r, title, json);
    done[s.name] = r;
  }
  print_step(done, json);
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
