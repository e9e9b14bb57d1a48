// The Wan-style DiT of MOVA's towers: video experts (WanModel, video_dit/ and video_dit_2/)
// and the audio DiT (WanAudioModel, audio_dit/). Weights are views into the memory-mapped
// checkpoint, named as in upstream's state_dict(); the math follows docs/upstream/dit.md.
// It runs where its weights are placed (WeightSet::place_on): inputs are moved there, and
// states and outputs stay there.
//
// The forward pass is split into begin / block / end so the joint denoiser can run the bridge
// between blocks of the two towers.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "io/weight_set.h"
#include "models/wan_dit_config.h"
#include "runtime/exec.h"
#include "runtime/last_value_cache.h"
#include "runtime/ops/rope.h"
#include "runtime/tensor.h"

namespace mova {

class WanDit {
 public:
  // Checks nothing beyond names: validate the weights against config.layout() first
  // (Checkpoint::weights does).
  WanDit(WanDitConfig config, WeightSet weights);

  // What a pass derives from the text alone, the same at every sampling step: the embedded
  // context and, when kept, every block's cross-attention keys (after norm_k) and values.
  // Preparing it once per prompt and expert removes the text side from all later passes
  // and changes no value.
  struct Text {
    Tensor context;            // [1, S, dim] embedded text
    std::vector<Tensor> k, v;  // per block, [1, S, heads, head_dim]; empty: computed per pass
  };

  struct State {
    Tensor x;  // [1, L, dim] hidden tokens
    std::shared_ptr<const Text> text;
    Tensor t_emb;  // [1, dim]
    Tensor t_mod;  // [1, 6, dim]
    RopeAngles rope;
    Shape grid;  // token grid: (f, h, w) for video, (f) for audio
  };

  // context: [1, S, text_dim] (padded rows zero, all attended). The keys and values of the
  // first `blocks` blocks (all when negative: the blocks a pass will run) are kept when together
  // they take at most max_kv_bytes; a later block computes its own.
  std::shared_ptr<const Text> prepare_text(Exec& ex, const Tensor& context, uint64_t max_kv_bytes,
                                           int64_t blocks = -1) const;
  // latents: video [1, in_dim, T, H, W] or audio [1, in_dim, L]; timestep: the scheduler's
  // 0..1000 value.
  State begin(Exec& ex, const Tensor& latents, float timestep,
              std::shared_ptr<const Text> text) const;
  // The same, preparing the text for this pass alone (keys and values computed per block).
  State begin(Exec& ex, const Tensor& latents, float timestep, const Tensor& context) const;
  void block(Exec& ex, int64_t index, State& state) const;
  // The velocity in the latent layout: [1, out_dim, T, H, W] or [1, out_dim, L].
  Tensor end(Exec& ex, const State& state) const;
  Tensor forward(Exec& ex, const Tensor& latents, float timestep, const Tensor& context) const;

  // A block runs over chunks of at most this many tokens: the self-attention's keys and values
  // for all tokens first, then per chunk its queries, the attention, the projection and the
  // residual update, and the cross-attention and the FFN likewise (row_chunks.h). The residual
  // stream is updated in place, and the large temporaries (the FFN's hidden activation, ffn_dim
  // wide; the normalised tokens; queries and attention outputs) exist for one chunk at a time.
  // Every op in it works row by row: on the CPU the result is bit for bit one pass's; on a GPU
  // a chunk's GEMM may take another cuBLASLt algorithm for its row count, so the last bits may
  // differ. By default a chunk's FFN hidden activation takes at most kRowChunkBytes in F32.
  void set_chunk_tokens(int64_t tokens);
  int64_t chunk_tokens() const { return chunk_tokens_; }

  const WanDitConfig& config() const { return config_; }
  Device device() const { return weights_.device(); }

 private:
  Tensor w(const std::string& name) const { return weights_.get(name); }
  Tensor patchify(Exec& ex, const Tensor& latents, Shape& grid) const;
  Tensor unpatchify(const Tensor& tokens, const Shape& grid) const;
  RopeAngles rope_angles(const Shape& grid) const;
  struct KeysValues {
    Tensor k, v;  // [1, S, heads, head_dim]
  };
  // Keys (after norm_k, and rotated when rope is given) and values of source's tokens.
  KeysValues project_kv(Exec& ex, const std::string& prefix, const Tensor& source,
                        const RopeAngles* rope) const;
  // The attention's output projection for the queries from x, the normalised input (released
  // once q is projected from it); rope: x's rows' angles, for q. kv is released before the
  // projection when the caller moves it in.
  Tensor attention_block(Exec& ex, const std::string& prefix, Tensor x, KeysValues kv,
                         const RopeAngles* rope) const;
  // The three residual updates of a block, each chunk by chunk over the tokens of s.x.
  void self_attention_update(Exec& ex, const std::string& prefix, State& s, const Tensor& shift,
                             const Tensor& scale, const Tensor& gate) const;
  void cross_attention_update(Exec& ex, int64_t index, State& s) const;
  void ffn_update(Exec& ex, const std::string& prefix, State& s, const Tensor& shift,
                  const Tensor& scale, const Tensor& gate) const;

  WanDitConfig config_;
  WeightSet weights_;
  int64_t chunk_tokens_;
  LastValueCache<Shape, RopeAngles> rope_cache_;  // by patch grid, on the weights' device
};

// The sinusoidal timestep embedding: [cos(t·ω_i) ..., sin(t·ω_i) ...], ω_i = 10000^(-i/half),
// computed in float64 as upstream, returned as F32 [1, dim].
Tensor sinusoidal_embedding(double t, int64_t dim);

}  // namespace mova
