// MOVA's dual-tower bridge (upstream DualTowerConditionalBridge, interactionv2.py): at each
// interacting layer, video tokens attend to audio tokens (audio_to_video_conditioners) and
// audio tokens attend to video tokens (video_to_audio_conditioners), both reading the
// states from BEFORE this layer's update, with RoPE aligned on one physical time axis.
#pragma once

#include "io/weight_set.h"
#include "models/bridge_config.h"
#include "runtime/exec.h"
#include "runtime/last_value_cache.h"
#include "runtime/tensor.h"

namespace mova {

class DualTowerBridge {
 public:
  DualTowerBridge(BridgeConfig config, WeightSet weights);

  // Rotate-half cos/sin tables [L, head_dim] for both token sequences. Audio token i sits at
  // position i (one per latent step); every token of video latent frame f sits at
  // f·audio_fps/(video_fps/4) (4 = the VAE's temporal stride), so both live on the audio clock.
  // Made once for a set of sizes (on the weights' device) and reused while they repeat.
  struct Rope {
    Tensor video_cos, video_sin, audio_cos, audio_sin;
  };
  Rope aligned_rope(int64_t video_frames, int64_t tokens_per_frame, int64_t audio_tokens,
                    double video_fps) const;

  bool interacts(int64_t layer) const;
  // visual [1, Lv, visual_hidden_dim], audio [1, La, audio_hidden_dim], updated in place (an
  // error part way may leave visual partly updated).
  void apply(Exec& ex, int64_t layer, Tensor& visual, Tensor& audio, const Rope& rope) const;

  // Each direction runs over chunks of at most this many tokens (row_chunks.h): the condition's
  // keys and values over chunks of its tokens, then the conditioned tokens' queries, attention,
  // projection and residual update chunk by chunk, the state updated in place. On the CPU bit
  // for bit one pass's result. By default a chunk of the wider tower's tokens takes at most
  // kRowChunkBytes in F32.
  void set_chunk_tokens(int64_t tokens);
  int64_t chunk_tokens() const { return chunk_tokens_; }

  const BridgeConfig& config() const { return config_; }

 private:
  struct KeysValues {
    Tensor k, v;  // [1, Ly, heads, head_dim]
  };
  // A conditioner's keys (normed, rotated) and values from the condition y (normalised first).
  KeysValues condition_kv(Exec& ex, const std::string& prefix, const Tensor& y, const Tensor* cos,
                          const Tensor* sin) const;
  // The conditioner's output for tokens x (their queries from x as it is) attending kv; x are
  // the rows from `first` on of the cos/sin tables' tokens.
  Tensor attend(Exec& ex, const std::string& prefix, const Tensor& x, int64_t first,
                const KeysValues& kv, const Tensor* cos, const Tensor* sin) const;

  Rope make_aligned_rope(int64_t video_frames, int64_t tokens_per_frame, int64_t audio_tokens,
                         double video_fps) const;

  BridgeConfig config_;
  WeightSet weights_;
  std::vector<int64_t> layers_;
  int64_t chunk_tokens_;
  struct RopeKey {
    int64_t video_frames = 0, tokens_per_frame = 0, audio_tokens = 0;
    double video_fps = 0;
    bool operator==(const RopeKey&) const = default;
  };
  LastValueCache<RopeKey, Rope> rope_cache_;
};

}  // namespace mova
