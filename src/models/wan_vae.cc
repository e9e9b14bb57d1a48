#include "models/wan_vae.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/error.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/concat.h"
#include "runtime/ops/conv.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/norm.h"
#include "runtime/ops/upsample.h"

namespace mova {

WanVae::WanVae(WanVaeConfig config, WeightSet weights)
    : config_(std::move(config)), weights_(std::move(weights)) {}

// A causal conv: the last (kt − 1) frames of the previous chunk in front (zeros before the
// first frame), symmetric spatial padding.
Tensor WanVae::causal_conv(Exec& ex, const Tensor& x, const std::string& name, Stream& s) const {
  const Tensor wt = w(name + ".weight"), b = w(name + ".bias");
  const Tensor w5 = wt.dim() == 4 ? wt.unsqueeze(2) : wt;  // 2-D 1×1 convs (attention)
  Conv3dParams p;
  p.pad_top = p.pad_bottom = (w5.size(3) - 1) / 2;
  p.pad_left = p.pad_right = (w5.size(4) - 1) / 2;
  const int64_t context = w5.size(2) - 1;
  if (context == 0) return conv3d(ex, x, w5, &b, p);
  Tensor& cache = s.cache[name];
  const bool cached = cache.dim() == 4;  // [C, t, H, W]; absent before the first chunk
  const Tensor in = cached ? concat({cache, x}, 1) : x;
  p.pad_t_front = context - (cached ? cache.size(1) : 0);
  const int64_t keep = std::min(context, in.size(1));
  Tensor y = conv3d(ex, in, w5, &b, p);
  cache = in.narrow(1, in.size(1) - keep, keep).contiguous();
  return y;
}

// The norm and the SiLU after it in one pass, so the un-activated tensor (full resolution,
// 4 frames) never exists.
Tensor WanVae::rms(Exec& ex, const Tensor& x, const std::string& gamma, bool then_silu) const {
  return channel_rms_norm(ex, x, w(gamma), then_silu);
}

Tensor WanVae::resblock(Exec& ex, const Tensor& x, const std::string& p, Stream& s) const {
  const Tensor shortcut = weights_.contains(p + ".conv_shortcut.weight")
                              ? causal_conv(ex, x, p + ".conv_shortcut", s)
                              : x;
  Tensor h = causal_conv(ex, rms(ex, x, p + ".norm1.gamma", true), p + ".conv1", s);
  h = causal_conv(ex, rms(ex, h, p + ".norm2.gamma", true), p + ".conv2", s);
  return add(ex, h, shortcut);
}

// Single-head self-attention over the H·W positions of each frame.
Tensor WanVae::attention_block(Exec& ex, const Tensor& x, const std::string& p, Stream& s) const {
  const int64_t C = x.size(0), T = x.size(1), H = x.size(2), W = x.size(3);
  const Tensor qkv =
      causal_conv(ex, rms(ex, x, p + ".norm.gamma"), p + ".to_qkv", s);  // [3C,T,H,W]
  std::vector<Tensor> frames;
  for (int64_t t = 0; t < T; ++t) {
    // [3C, HW] of this frame -> q, k, v [1, HW, 1, C]
    const Tensor frame = qkv.narrow(1, t, 1).contiguous().reshape({3 * C, H * W});
    auto part = [&](int64_t i) {
      return frame.narrow(0, i * C, C).transpose(0, 1).contiguous().reshape({1, H * W, 1, C});
    };
    const Tensor o = attention(ex, part(0), part(1), part(2));
    frames.push_back(o.reshape({H, W, C}).permute({2, 0, 1}).unsqueeze(1));  // [C, 1, H, W]
  }
  const Tensor attended = concat(frames, 1);
  return add(ex, causal_conv(ex, attended, p + ".proj", s), x);
}

Tensor WanVae::mid_block(Exec& ex, const Tensor& x, const std::string& p, Stream& s) const {
  Tensor h = resblock(ex, x, p + ".resnets.0", s);
  h = attention_block(ex, h, p + ".attentions.0", s);
  return resblock(ex, h, p + ".resnets.1", s);
}

Tensor WanVae::downsample(Exec& ex, const Tensor& x, const std::string& p, bool temporal,
                          Stream& s) const {
  // Per frame: pad one zero column right and one row at the bottom, 3×3 stride-2 conv.
  const Tensor wt = w(p + ".resample.1.weight"), b = w(p + ".resample.1.bias");
  Conv3dParams sp;
  sp.stride_h = sp.stride_w = 2;
  sp.pad_bottom = sp.pad_right = 1;
  Tensor y = conv3d(ex, x, wt, &b, sp);
  if (!temporal) return y;
  // Frame 0 passes on its own (first chunk); later chunks go through a kernel-3 stride-2 time
  // conv with the previous chunk's last frame in front.
  const std::string name = p + ".time_conv";
  Tensor& cache = s.cache[name];
  Tensor out = y;
  if (!s.first_chunk) {
    const Tensor tw = w(name + ".weight"), tb = w(name + ".bias");
    Conv3dParams tp;
    tp.stride_t = 2;
    out = conv3d(ex, concat({cache, y}, 1), tw, &tb, tp);
  }
  cache = y.narrow(1, y.size(1) - 1, 1).contiguous();
  return out;
}

Tensor WanVae::upsample(Exec& ex, const Tensor& x, const std::string& p, bool temporal,
                        Stream& s) const {
  const int64_t C = x.size(0), H = x.size(2), W = x.size(3);
  Tensor seq = x;
  if (temporal && !s.first_chunk) {
    // After the first chunk, a causal time conv C -> 2C whose halves become two frames each
    // (frame 0 is neither doubled nor used as context: the cache starts empty):
    // seq[c, 2t + k] = doubled[k·C + c, t].
    const int64_t T = x.size(1);
    const Tensor doubled = causal_conv(ex, x, p + ".time_conv", s);  // [2C, T, H, W]
    seq = doubled.reshape({2, C, T, H * W})
              .permute({1, 2, 0, 3})
              .contiguous(&ex.buffers())
              .reshape({C, 2 * T, H, W});
  }
  // Nearest 2× in space, then a 3×3 pad-1 conv to C/2 channels.
  const Tensor up = upsample_nearest2x(ex, seq);
  const Tensor wt = w(p + ".resample.1.weight"), b = w(p + ".resample.1.bias");
  Conv3dParams sp;
  sp.pad_top = sp.pad_bottom = sp.pad_left = sp.pad_right = 1;
  return conv3d(ex, up, wt, &b, sp);
}

Tensor WanVae::encode_chunk(Exec& ex, const Tensor& frames, Stream& s) const {
  Tensor x = causal_conv(ex, frames, "encoder.conv_in", s);
  const int64_t levels = static_cast<int64_t>(config_.dim_mult.size());
  int64_t k = 0;
  for (int64_t i = 0; i < levels; ++i) {
    for (int64_t r = 0; r < config_.num_res_blocks; ++r, ++k)
      x = resblock(ex, x, "encoder.down_blocks." + std::to_string(k), s);
    if (i < levels - 1)
      x = downsample(ex, x, "encoder.down_blocks." + std::to_string(k++),
                     config_.temperal_downsample[i], s);
  }
  x = mid_block(ex, x, "encoder.mid_block", s);
  x = causal_conv(ex, rms(ex, x, "encoder.norm_out.gamma", true), "encoder.conv_out", s);
  x = causal_conv(ex, x, "quant_conv", s);
  return x.narrow(0, 0, config_.z_dim).contiguous();  // the mean half of the posterior
}

Tensor WanVae::encode(Exec& ex, const Tensor& video) const {
  MOVA_CHECK(video.dim() == 5 && video.size(0) == 1 && video.size(1) == config_.in_channels &&
                 (video.size(2) - 1) % 4 == 0 && video.size(3) % 8 == 0 && video.size(4) % 8 == 0,
             ErrorKind::kShape, "video ", video.describe(), " must be [1, ", config_.in_channels,
             ", 1+4k, H, W] with H and W multiples of 8");
  const Tensor x = video.squeeze(0);
  Stream s;
  std::vector<Tensor> latents;
  for (int64_t t = 0; t < x.size(1); t += (t == 0 ? 1 : 4)) {  // frame 0, then 4-frame chunks
    const Tensor chunk = x.narrow(1, t, t == 0 ? 1 : 4).to(DType::kF32).to(device());
    latents.push_back(encode_chunk(ex, chunk.contiguous(), s).to(Device::cpu()));
    s.first_chunk = false;
  }
  return concat(latents, 1).unsqueeze(0);
}

Tensor WanVae::decode_chunk(Exec& ex, const Tensor& z, Stream& s) const {
  Tensor x = causal_conv(ex, z, "post_quant_conv", s);
  x = causal_conv(ex, x, "decoder.conv_in", s);
  x = mid_block(ex, x, "decoder.mid_block", s);
  const int64_t levels = static_cast<int64_t>(config_.dim_mult.size());
  for (int64_t i = 0; i < levels; ++i) {
    const std::string p = "decoder.up_blocks." + std::to_string(i);
    for (int64_t r = 0; r <= config_.num_res_blocks; ++r)
      x = resblock(ex, x, p + ".resnets." + std::to_string(r), s);
    if (i < levels - 1)
      x = upsample(ex, x, p + ".upsamplers.0", config_.temperal_downsample[levels - 2 - i], s);
  }
  x = causal_conv(ex, rms(ex, x, "decoder.norm_out.gamma", true), "decoder.conv_out", s);
  x = x.to(Device::cpu());  // frames go to the host anyway; clamp there
  float* p = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) p[i] = std::clamp(p[i], -1.0f, 1.0f);
  return x;
}

namespace {

// Tile starts every `stride` below `size`, as diffusers' range(0, size, stride).
std::vector<int64_t> tile_starts(int64_t size, int64_t stride) {
  std::vector<int64_t> starts;
  for (int64_t s = 0; s < size; s += stride) starts.push_back(s);
  return starts;
}

}  // namespace

void WanVae::decode(Exec& ex, const Tensor& latents, const FrameSink& sink,
                    const VaeTiling* tiling) const {
  MOVA_CHECK(latents.dim() == 5 && latents.size(0) == 1 && latents.size(1) == config_.z_dim,
             ErrorKind::kShape, "video latents ", latents.describe(), " must be [1, ",
             config_.z_dim, ", T, h, w]");
  const Tensor z = latents.squeeze(0);
  const int64_t h = z.size(2), w = z.size(3);
  if (tiling) {
    MOVA_CHECK(tiling->tile > 0 && tiling->stride > 0 && tiling->stride <= tiling->tile,
               ErrorKind::kInvalidArgument, "VAE tiling: need 0 < stride <= tile");
  }
  if (!tiling || (h <= tiling->tile && w <= tiling->tile)) {
    Stream s;
    for (int64_t t = 0; t < z.size(1); ++t) {
      sink(decode_chunk(ex, z.narrow(1, t, 1).to(DType::kF32).to(device()).contiguous(), s));
      s.first_chunk = false;
    }
    return;
  }
  const int64_t scale = config_.scale_factor_spatial;
  const std::vector<int64_t> rows = tile_starts(h, tiling->stride);
  const std::vector<int64_t> cols = tile_starts(w, tiling->stride);
  const int64_t blend = (tiling->tile - tiling->stride) * scale;  // overlap in pixels
  const int64_t step = tiling->stride * scale;
  // Tile by tile, each over the whole clip with its own causal state (as diffusers does): only
  // one tile's activations and caches are alive at a time; the decoded tiles are kept.
  std::vector<Tensor> tiles(rows.size() * cols.size());
  std::vector<int64_t> chunk_frames;
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c < cols.size(); ++c) {
      const int64_t th = std::min(tiling->tile, h - rows[r]);
      const int64_t tw = std::min(tiling->tile, w - cols[c]);
      Stream s;
      std::vector<Tensor> chunks;
      for (int64_t t = 0; t < z.size(1); ++t) {
        const Tensor part = z.narrow(1, t, 1).narrow(2, rows[r], th).narrow(3, cols[c], tw);
        chunks.push_back(decode_chunk(ex, part.to(DType::kF32).to(device()).contiguous(), s));
        s.first_chunk = false;
        if (r == 0 && c == 0) chunk_frames.push_back(chunks.back().size(1));
      }
      tiles[r * cols.size() + c] = concat(chunks, 1);
    }
  {
    // Blend each tile with its upper and left neighbours over the overlap and keep its
    // top-left stride x stride part.
    const int64_t n = tiles[0].size(1);
    Tensor out = Tensor::empty({3, n, h * scale, w * scale}, DType::kF32);
    const int64_t H = h * scale, W = w * scale;
    for (size_t r = 0; r < rows.size(); ++r)
      for (size_t c = 0; c < cols.size(); ++c) {
        Tensor& cur = tiles[r * cols.size() + c];
        const int64_t th = cur.size(2), tw = cur.size(3);
        float* pc = cur.data<float>();
        if (r > 0) {  // blend rows with the tile above
          const Tensor& up = tiles[(r - 1) * cols.size() + c];
          const int64_t uh = up.size(2), ext = std::min({blend, uh, th});
          for (int64_t ct = 0; ct < 3 * n; ++ct)
            for (int64_t y = 0; y < ext; ++y) {
              const float a = static_cast<float>(y) / static_cast<float>(ext);
              const float* pu = up.data<float>() + (ct * uh + uh - ext + y) * up.size(3);
              float* row = pc + (ct * th + y) * tw;
              for (int64_t x = 0; x < tw && x < up.size(3); ++x)
                row[x] = pu[x] * (1 - a) + row[x] * a;
            }
        }
        if (c > 0) {  // blend columns with the tile on the left
          const Tensor& left = tiles[r * cols.size() + c - 1];
          const int64_t lw = left.size(3), ext = std::min({blend, lw, tw});
          for (int64_t ct = 0; ct < 3 * n; ++ct)
            for (int64_t y = 0; y < th && y < left.size(2); ++y) {
              const float* pl = left.data<float>() + (ct * left.size(2) + y) * lw + lw - ext;
              float* row = pc + (ct * th + y) * tw;
              for (int64_t x = 0; x < ext; ++x) {
                const float a = static_cast<float>(x) / static_cast<float>(ext);
                row[x] = pl[x] * (1 - a) + row[x] * a;
              }
            }
        }
        // Each tile keeps its first stride x stride pixels (the next tiles cover the rest).
        const int64_t y0 = rows[r] * scale, x0 = cols[c] * scale;
        const int64_t ch = std::min(step, th), cw = std::min(step, tw);
        for (int64_t ct = 0; ct < 3 * n; ++ct)
          for (int64_t y = 0; y < ch; ++y)
            std::memcpy(out.data<float>() + (ct * H + y0 + y) * W + x0, pc + (ct * th + y) * tw,
                        static_cast<size_t>(cw) * sizeof(float));
      }
    int64_t at = 0;  // hand over in the untiled chunk sizes (1 frame, then 4 per latent frame)
    for (int64_t n_frames : chunk_frames) {
      sink(out.narrow(1, at, n_frames).contiguous());
      at += n_frames;
    }
  }
}

Tensor WanVae::decode(Exec& ex, const Tensor& latents) const {
  std::vector<Tensor> chunks;
  decode(ex, latents, [&](const Tensor& frames) { chunks.push_back(frames); });
  return concat(chunks, 1).unsqueeze(0);
}

Tensor WanVae::image_condition(Exec& ex, const Tensor& image, int64_t frames) const {
  MOVA_CHECK(image.dim() == 4 && image.size(0) == 1 && image.size(1) == 3, ErrorKind::kShape,
             "image ", image.describe(), " must be [1, 3, H, W]");
  MOVA_CHECK(frames >= 1 && (frames - 1) % 4 == 0, ErrorKind::kInvalidArgument, "frames ", frames,
             " must be 4k+1");
  const int64_t H = image.size(2), W = image.size(3);
  Tensor video = Tensor::zeros({1, 3, frames, H, W}, DType::kF32);
  const Tensor img = image.to(DType::kF32).contiguous();
  for (int64_t c = 0; c < 3; ++c)  // frame 0 is the image, the rest stay zero
    std::memcpy(video.data<float>() + c * frames * H * W, img.data<float>() + c * H * W,
                H * W * sizeof(float));
  const Tensor z = encode(ex, video).squeeze(0);  // [z, T, h, w]
  const int64_t Z = z.size(0), T = z.size(1), P = z.size(2) * z.size(3);
  Tensor out = Tensor::zeros({1, 4 + Z, T, z.size(2), z.size(3)}, DType::kF32);
  float* po = out.data<float>();
  for (int64_t c = 0; c < 4; ++c) std::fill_n(po + c * T * P, P, 1.0f);  // mask: latent frame 0
  const float* pz = z.data<float>();
  for (int64_t c = 0; c < Z; ++c) {
    const float mean = static_cast<float>(config_.latents_mean[c]);
    const float inv_std = static_cast<float>(1.0 / config_.latents_std[c]);
    for (int64_t i = 0; i < T * P; ++i)
      po[(4 + c) * T * P + i] = (pz[c * T * P + i] - mean) * inv_std;
  }
  return out;
}

}  // namespace mova
