#include "models/bridge.h"

#include <algorithm>
#include <cmath>

#include "models/row_chunks.h"
#include "runtime/error.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/linear.h"
#include "runtime/ops/norm.h"
#include "runtime/ops/rope.h"

namespace mova {
namespace {
constexpr float kEps = 1e-6f;  // upstream hard-wires it in the bridge blocks
}

DualTowerBridge::DualTowerBridge(BridgeConfig config, WeightSet weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  MOVA_CHECK(
      !config_.pooled_adaln, ErrorKind::kUnsupported,
      "dual_tower_bridge: pooled_adaln=true is not supported (the published model has it off)");
  layers_ = config_.interaction_layers();
  const int64_t widest =
      std::max<int64_t>({config_.visual_hidden_dim, config_.audio_hidden_dim, int64_t{1}});
  chunk_tokens_ = std::max<int64_t>(
      1, static_cast<int64_t>(kRowChunkBytes / (static_cast<uint64_t>(widest) * sizeof(float))));
}

void DualTowerBridge::set_chunk_tokens(int64_t tokens) {
  MOVA_CHECK(tokens > 0, ErrorKind::kInvalidArgument, "bridge chunk of ", tokens,
             " tokens: must be at least 1");
  chunk_tokens_ = tokens;
}

bool DualTowerBridge::interacts(int64_t layer) const {
  return std::find(layers_.begin(), layers_.end(), layer) != layers_.end();
}

DualTowerBridge::Rope DualTowerBridge::aligned_rope(int64_t video_frames, int64_t tokens_per_frame,
                                                    int64_t audio_tokens, double video_fps) const {
  return rope_cache_.get(RopeKey{video_frames, tokens_per_frame, audio_tokens, video_fps}, [&] {
    return make_aligned_rope(video_frames, tokens_per_frame, audio_tokens, video_fps);
  });
}

DualTowerBridge::Rope DualTowerBridge::make_aligned_rope(int64_t video_frames,
                                                         int64_t tokens_per_frame,
                                                         int64_t audio_tokens,
                                                         double video_fps) const {
  const int64_t hd = config_.head_dim, half = hd / 2;
  std::vector<float> inv_freq(half);
  for (int64_t j = 0; j < half; ++j)
    inv_freq[j] = static_cast<float>(1.0 / std::pow(10000.0, static_cast<double>(2 * j) / hd));
  // Fills cos/sin [n, hd] for positions pos(i), in float32 like upstream.
  auto table = [&](int64_t n, auto pos, Tensor& c, Tensor& s) {
    c = Tensor::empty({n, hd}, DType::kF32);
    s = Tensor::empty({n, hd}, DType::kF32);
    float* pc = c.data<float>();
    float* ps = s.data<float>();
    for (int64_t i = 0; i < n; ++i) {
      const float p = pos(i);
      for (int64_t j = 0; j < half; ++j) {
        const float a = p * inv_freq[j];
        pc[i * hd + j] = pc[i * hd + half + j] = std::cos(a);
        ps[i * hd + j] = ps[i * hd + half + j] = std::sin(a);
      }
    }
  };
  Rope r;
  const double audio_fps = config_.audio_fps;
  const bool first_frame_bias = config_.apply_first_frame_bias_in_rope;
  table(
      audio_tokens, [](int64_t i) { return static_cast<float>(i); }, r.audio_cos, r.audio_sin);
  table(
      video_frames * tokens_per_frame,
      [&](int64_t i) {
        const int64_t f = i / tokens_per_frame;
        if (first_frame_bias) {
          const double t = f == 0 ? 0.0 : 1.0 / video_fps + (f - 1) * 4.0 / video_fps;
          return static_cast<float>(t * audio_fps);
        }
        return static_cast<float>(f * audio_fps / (video_fps / 4.0));
      },
      r.video_cos, r.video_sin);
  // The tables are built on the host and used where the bridge's weights are.
  const Device device = weights_.device();
  for (Tensor* t : {&r.audio_cos, &r.audio_sin, &r.video_cos, &r.video_sin}) *t = t->to(device);
  return r;
}

DualTowerBridge::KeysValues DualTowerBridge::condition_kv(Exec& ex, const std::string& p,
                                                          const Tensor& y, const Tensor* cos,
                                                          const Tensor* sin) const {
  auto w = [&](const std::string& n) { return weights_.get(p + n); };
  const Tensor ynw = w(".y_norm.weight"), ynb = w(".y_norm.bias"), kw = w(".inner.k.weight"),
               kb = w(".inner.k.bias"), vw = w(".inner.v.weight"), vb = w(".inner.v.bias"),
               nk = w(".inner.norm_k.weight");
  // The attention's width is the conditioned tower's: k's output rows.
  const int64_t hd = config_.head_dim, heads = kw.size(0) / hd;
  // k and v feed attention only.
  constexpr LinearResult kOperand = LinearResult::kOperand;
  std::vector<Tensor> kv =
      gather_row_chunks(ex, y.size(1), chunk_tokens_, [&](int64_t first, int64_t n) {
        // Only the condition is normalised.
        const Tensor yn = layer_norm(ex, y.narrow(1, first, n), &ynw, &ynb, kEps);
        Tensor k =
            rms_norm(ex, linear(ex, yn, kw, &kb, kOperand), &nk, kEps).reshape({1, n, heads, hd});
        if (config_.apply_cross_rope)
          k = rope_rotate_half(ex, k, cos->narrow(0, first, n), sin->narrow(0, first, n));
        return std::vector<Tensor>{std::move(k),
                                   linear(ex, yn, vw, &vb, kOperand).reshape({1, n, heads, hd})};
      });
  return {std::move(kv[0]), std::move(kv[1])};
}

Tensor DualTowerBridge::attend(Exec& ex, const std::string& p, const Tensor& x, int64_t first,
                               const KeysValues& kv, const Tensor* cos, const Tensor* sin) const {
  auto w = [&](const std::string& n) { return weights_.get(p + n); };
  const int64_t dim = x.size(2), hd = config_.head_dim, heads = dim / hd, L = x.size(1);
  const Tensor qw = w(".inner.q.weight"), qb = w(".inner.q.bias"), ow = w(".inner.o.weight"),
               ob = w(".inner.o.bias"), nq = w(".inner.norm_q.weight");
  Tensor q = rms_norm(ex, linear(ex, x, qw, &qb, LinearResult::kOperand), &nq, kEps)
                 .reshape({1, L, heads, hd});
  if (config_.apply_cross_rope)
    q = rope_rotate_half(ex, q, cos->narrow(0, first, L), sin->narrow(0, first, L));
  const Tensor o = attention(ex, q, kv.k, kv.v).reshape({1, L, dim});
  q = Tensor();  // released before the projection's F32 result is made
  return linear(ex, o, ow, &ob);
}

void DualTowerBridge::apply(Exec& ex, int64_t layer, Tensor& visual, Tensor& audio,
                            const Rope& r) const {
  MOVA_CHECK(visual.dim() == 3 && visual.size(2) == config_.visual_hidden_dim && audio.dim() == 3 &&
                 audio.size(2) == config_.audio_hidden_dim,
             ErrorKind::kShape, "bridge: visual ", visual.describe(), " / audio ", audio.describe(),
             " do not match hidden dims ", config_.visual_hidden_dim, "/",
             config_.audio_hidden_dim);
  const std::string l = std::to_string(layer);
  const std::string v2a_p = "video_to_audio_conditioners." + l;
  const std::string a2v_p = "audio_to_video_conditioners." + l;
  const bool rope = config_.apply_cross_rope;
  MOVA_CHECK(!rope || (r.video_cos.dim() == 2 && r.video_cos.size(0) == visual.size(1) &&
                       r.audio_cos.dim() == 2 && r.audio_cos.size(0) == audio.size(1)),
             ErrorKind::kShape, "bridge: RoPE tables ", r.video_cos.describe(), " / ",
             r.audio_cos.describe(), " do not fit ", visual.size(1), " video and ", audio.size(1),
             " audio tokens");
  // Both directions read the pre-update states. Video to audio first: its keys and values over
  // the video tokens (at the audio tower's width: 0.54 GB each in BF16 at 720p) are gone before
  // the video is updated.
  Tensor v2a;
  {
    const KeysValues video_kv = condition_kv(ex, v2a_p, visual, &r.video_cos, &r.video_sin);
    v2a = gather_row_chunks(ex, audio.size(1), chunk_tokens_, [&](int64_t first, int64_t n) {
      return std::vector<Tensor>{attend(ex, v2a_p, audio.narrow(1, first, n), first, video_kv,
                                        &r.audio_cos, &r.audio_sin)};
    })[0];
  }
  const KeysValues audio_kv = condition_kv(ex, a2v_p, audio, &r.audio_cos, &r.audio_sin);
  // condition_scale 1.0: the state plus the conditioner's output.
  update_row_chunks(ex, visual, chunk_tokens_, [&](const Tensor& x, int64_t first, int64_t) {
    return add(ex, x, attend(ex, a2v_p, x, first, audio_kv, &r.video_cos, &r.video_sin));
  });
  audio = add(ex, audio, v2a);
}

}  // namespace mova
