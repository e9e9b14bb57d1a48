#include "models/bridge.h"

#include <algorithm>
#include <cmath>

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

Tensor DualTowerBridge::conditioner(Exec& ex, const std::string& p, const Tensor& x,
                                    const Tensor& y, const Tensor* x_cos, const Tensor* x_sin,
                                    const Tensor* y_cos, const Tensor* y_sin) const {
  auto w = [&](const std::string& n) { return weights_.get(p + n); };
  const int64_t dim = x.size(2), hd = config_.head_dim, heads = dim / hd;
  const Tensor ynw = w(".y_norm.weight"), ynb = w(".y_norm.bias");
  Tensor yn = layer_norm(ex, y, &ynw, &ynb, kEps);  // only the condition is normalised
  const Tensor qw = w(".inner.q.weight"), qb = w(".inner.q.bias"), kw = w(".inner.k.weight"),
               kb = w(".inner.k.bias"), vw = w(".inner.v.weight"), vb = w(".inner.v.bias"),
               ow = w(".inner.o.weight"), ob = w(".inner.o.bias"), nq = w(".inner.norm_q.weight"),
               nk = w(".inner.norm_k.weight");
  // q, k and v feed attention only.
  constexpr LinearResult kOperand = LinearResult::kOperand;
  Tensor q =
      rms_norm(ex, linear(ex, x, qw, &qb, kOperand), &nq, kEps).reshape({1, x.size(1), heads, hd});
  Tensor k =
      rms_norm(ex, linear(ex, yn, kw, &kb, kOperand), &nk, kEps).reshape({1, y.size(1), heads, hd});
  Tensor v = linear(ex, yn, vw, &vb, kOperand).reshape({1, y.size(1), heads, hd});
  yn = Tensor();  // as q, k and v below: released as soon as nothing reads it any more
  if (config_.apply_cross_rope) {
    q = rope_rotate_half(ex, q, *x_cos, *x_sin);
    k = rope_rotate_half(ex, k, *y_cos, *y_sin);
  }
  const Tensor o = attention(ex, q, k, v).reshape({1, x.size(1), dim});
  q = k = v = Tensor();
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
  // Both directions read the pre-update states. Video to audio first: its large temporaries
  // (the normalised video, its keys and values) are gone before the audio-to-video result, as
  // large as the video state (3.6 GB in F32 at 720p), is held.
  const Tensor v2a = conditioner(ex, "video_to_audio_conditioners." + l, audio, visual,
                                 &r.audio_cos, &r.audio_sin, &r.video_cos, &r.video_sin);
  const Tensor a2v = conditioner(ex, "audio_to_video_conditioners." + l, visual, audio,
                                 &r.video_cos, &r.video_sin, &r.audio_cos, &r.audio_sin);
  visual = add(ex, visual, a2v);  // condition_scale 1.0
  audio = add(ex, audio, v2a);
}

}  // namespace mova
