// The Wan2.1 causal 3-D video VAE (diffusers AutoencoderKLWan as MOVA uses it), run in chunks
// exactly as upstream: the encoder takes frame 0, then 4-frame chunks; the decoder one latent
// frame at a time. Each temporal conv keeps the last (kernel − 1) frames it saw as a cache, so
// memory stays bounded by one chunk whatever the clip length, and the result equals one pass
// over the whole sequence (every conv is causal in time, norms are per position, attention is
// per frame; docs/upstream/vae.md).
//
// Layout here is [C, T, H, W] (batch 1); the public entry points take upstream's
// [1, C, T, H, W].
#pragma once

#include <functional>
#include <map>
#include <string>

#include "io/weight_set.h"
#include "models/wan_vae_config.h"
#include "runtime/exec.h"
#include "runtime/tensor.h"

namespace mova {

// Optional spatial tiling of the decoder (diffusers AutoencoderKLWan.tiled_decode's scheme):
// latent tiles of `tile` x `tile` positions every `stride`, each decoded over the whole clip
// with its own causal state, overlaps blended linearly. Activation memory is bounded by one
// tile instead of one frame, but the decoded float video is held until all tiles are done,
// and pixels near seams differ from untiled decoding (docs/benchmarks.md).
struct VaeTiling {
  int64_t tile = 32;    // latent positions (256 pixels)
  int64_t stride = 24;  // latent positions (192 pixels); tile − stride is the overlap
};

class WanVae {
 public:
  WanVae(WanVaeConfig config, WeightSet weights);

  // video [1, 3, 1+4k, H, W] in [-1, 1] -> posterior mean [1, z, 1+k, H/8, W/8]
  // (not normalised with latents_mean/std).
  Tensor encode(Exec& ex, const Tensor& video) const;
  // latents [1, z, 1+k, h, w] (de-normalised) -> video [1, 3, 1+4k, 8h, 8w] clamped to [-1, 1].
  Tensor decode(Exec& ex, const Tensor& latents) const;
  // The same, handing over frames as they are decoded ([3, n, 8h, 8w]: 1 frame for latent
  // frame 0, then 4 per latent frame) so a caller never holds the whole float video.
  // With `tiling`, frames larger than one tile are decoded tile by tile.
  using FrameSink = std::function<void(const Tensor& frames)>;
  void decode(Exec& ex, const Tensor& latents, const FrameSink& sink,
              const VaeTiling* tiling = nullptr) const;

  // MOVA's first-frame condition (prepare_latents): [image, zero frames] encoded, normalised
  // (x − mean)/std, after a 4-channel mask that is 1 on latent frame 0: [1, 4+z, T, H/8, W/8].
  Tensor image_condition(Exec& ex, const Tensor& image, int64_t frames) const;

  const WanVaeConfig& config() const { return config_; }
  // Where the passes run: the device the weights are placed on (WeightSet::place_on). Inputs
  // and outputs are host tensors wherever that is.
  Device device() const { return weights_.device(); }

 private:
  // What a chunked pass carries from one chunk to the next: per temporal conv (by weight name)
  // the last input frames it saw, and whether this is the first chunk.
  struct Stream {
    std::map<std::string, Tensor> cache;
    bool first_chunk = true;
  };

  Tensor w(const std::string& name) const { return weights_.get(name); }
  Tensor causal_conv(Exec& ex, const Tensor& x, const std::string& name, Stream& s) const;
  Tensor rms(Exec& ex, const Tensor& x, const std::string& gamma, bool then_silu = false) const;
  Tensor resblock(Exec& ex, const Tensor& x, const std::string& p, Stream& s) const;
  Tensor attention_block(Exec& ex, const Tensor& x, const std::string& p, Stream& s) const;
  Tensor mid_block(Exec& ex, const Tensor& x, const std::string& p, Stream& s) const;
  Tensor downsample(Exec& ex, const Tensor& x, const std::string& p, bool temporal,
                    Stream& s) const;
  Tensor upsample(Exec& ex, const Tensor& x, const std::string& p, bool temporal, Stream& s) const;
  Tensor encode_chunk(Exec& ex, const Tensor& x, Stream& s) const;
  Tensor decode_chunk(Exec& ex, const Tensor& z, Stream& s) const;

  WanVaeConfig config_;
  WeightSet weights_;
};

}  // namespace mova
