#include "models/wan_dit.h"

#include <algorithm>
#include <cmath>

#include "models/row_chunks.h"
#include "runtime/error.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/linear.h"
#include "runtime/ops/norm.h"

namespace mova {

Tensor sinusoidal_embedding(double t, int64_t dim) {
  const int64_t half = dim / 2;
  Tensor e = Tensor::empty({1, dim}, DType::kF32);
  float* p = e.data<float>();
  for (int64_t i = 0; i < half; ++i) {
    const double a = t * std::pow(10000.0, -static_cast<double>(i) / static_cast<double>(half));
    p[i] = static_cast<float>(std::cos(a));
    p[half + i] = static_cast<float>(std::sin(a));
  }
  return e;
}

WanDit::WanDit(WanDitConfig config, WeightSet weights)
    : config_(std::move(config)),
      weights_(std::move(weights)),
      chunk_tokens_(std::max<int64_t>(
          1, static_cast<int64_t>(kRowChunkBytes /
                                  (std::max<int64_t>(config_.ffn_dim, 1) * sizeof(float))))) {}

void WanDit::set_chunk_tokens(int64_t tokens) {
  MOVA_CHECK(tokens > 0, ErrorKind::kInvalidArgument, "DiT chunk of ", tokens,
             " tokens: must be at least 1");
  chunk_tokens_ = tokens;
}

Tensor WanDit::patchify(Exec& ex, const Tensor& latents, Shape& grid) const {
  const auto& p = config_.patch_size;
  const int64_t C = config_.in_dim;
  if (config_.audio) {
    MOVA_CHECK(latents.dim() == 3 && latents.size(0) == 1 && latents.size(1) == C &&
                   latents.size(2) % p[0] == 0,
               ErrorKind::kShape, "audio DiT input ", latents.describe(), " must be [1, ", C,
               ", L] with L a multiple of ", p[0]);
    const int64_t f = latents.size(2) / p[0];
    grid = {f};
    // [1, C, f·p] -> tokens [f, C·p], features (c, kp).
    Tensor t = latents.reshape({C, f, p[0]}).permute({1, 0, 2}).contiguous(&ex.buffers());
    return t.reshape({1, f, C * p[0]});
  }
  MOVA_CHECK(latents.dim() == 5 && latents.size(0) == 1 && latents.size(1) == C &&
                 latents.size(2) % p[0] == 0 && latents.size(3) % p[1] == 0 &&
                 latents.size(4) % p[2] == 0,
             ErrorKind::kShape, "video DiT input ", latents.describe(), " must be [1, ", C,
             ", T, H, W] with T, H, W multiples of the patch (", p[0], ", ", p[1], ", ", p[2], ")");
  const int64_t f = latents.size(2) / p[0], h = latents.size(3) / p[1], w = latents.size(4) / p[2];
  grid = {f, h, w};
  // [C, f, pt, h, ph, w, pw] -> [f, h, w, C, pt, ph, pw]: features ordered like the conv kernel.
  Tensor t = latents.reshape({C, f, p[0], h, p[1], w, p[2]})
                 .permute({1, 3, 5, 0, 2, 4, 6})
                 .contiguous(&ex.buffers());
  return t.reshape({1, f * h * w, C * p[0] * p[1] * p[2]});
}

Tensor WanDit::unpatchify(const Tensor& tokens, const Shape& grid) const {
  const auto& p = config_.patch_size;
  const int64_t C = config_.out_dim;
  if (config_.audio) {
    // [f, p·C] with features (kp, c) -> [1, C, f·p]
    const int64_t f = grid[0];
    return tokens.reshape({f, p[0], C}).permute({2, 0, 1}).contiguous().reshape({1, C, f * p[0]});
  }
  const int64_t f = grid[0], h = grid[1], w = grid[2];
  // [f, h, w, pt, ph, pw, C] (C fastest) -> [C, f, pt, h, ph, w, pw]
  return tokens.reshape({f, h, w, p[0], p[1], p[2], C})
      .permute({6, 0, 3, 1, 4, 2, 5})
      .contiguous()
      .reshape({1, C, f * p[0], h * p[1], w * p[2]});
}

RopeAngles WanDit::rope_angles(const Shape& grid) const {
  const int64_t hd = config_.head_dim();
  RopeAngles r;
  r.pairs = hd / 2;
  auto omega = [](int64_t j, int64_t d) {
    return std::pow(10000.0, -static_cast<double>(2 * j) / static_cast<double>(d));
  };
  if (config_.audio) {
    // vae_type "dac": plain 1-D RoPE over the whole head (upstream's 3-way chunking of the
    // table re-concatenates to the same thing).
    r.positions = grid[0];
    r.angle = Tensor::empty({r.positions, r.pairs}, DType::kF64);
    double* table = r.angle.data<double>();
    for (int64_t pos = 0; pos < r.positions; ++pos)
      for (int64_t j = 0; j < r.pairs; ++j) table[pos * r.pairs + j] = pos * omega(j, hd);
    return r;
  }
  // Frame, height and width parts of head_dim − 2·(head_dim/3), head_dim/3, head_dim/3
  // channels, each with frequencies over its own width.
  const int64_t dh = hd / 3, df = hd - 2 * dh;
  const int64_t f = grid[0], h = grid[1], w = grid[2];
  r.positions = f * h * w;
  r.angle = Tensor::empty({r.positions, r.pairs}, DType::kF64);
  for (int64_t a = 0; a < f; ++a)
    for (int64_t b = 0; b < h; ++b)
      for (int64_t c = 0; c < w; ++c) {
        double* row = r.angle.data<double>() + ((a * h + b) * w + c) * r.pairs;
        int64_t k = 0;
        for (int64_t j = 0; j < df / 2; ++j) row[k++] = a * omega(j, df);
        for (int64_t j = 0; j < dh / 2; ++j) row[k++] = b * omega(j, dh);
        for (int64_t j = 0; j < dh / 2; ++j) row[k++] = c * omega(j, dh);
      }
  return r;
}

std::shared_ptr<const WanDit::Text> WanDit::prepare_text(Exec& ex, const Tensor& context,
                                                         uint64_t max_kv_bytes,
                                                         int64_t blocks) const {
  MOVA_CHECK(context.dim() == 3 && context.size(0) == 1 && context.size(2) == config_.text_dim,
             ErrorKind::kShape, "DiT context ", context.describe(), " must be [1, S, ",
             config_.text_dim, "]");
  auto text = std::make_shared<Text>();
  const Tensor ctx = context.to(device()).to(DType::kF32);
  const Tensor tw0 = w("text_embedding.0.weight"), tb0 = w("text_embedding.0.bias");
  const Tensor tw2 = w("text_embedding.2.weight"), tb2 = w("text_embedding.2.bias");
  text->context = linear(ex, gelu(ex, linear(ex, ctx, tw0, &tb0), true), tw2, &tb2);

  // Keys and values of every block run: 2 · blocks · S · dim values, in the dtype the
  // projections hand on (F32; BF16 on a device's BF16 path, runtime/ops/handoff.h), so the first
  // block's pair says what all of them take.
  const int64_t kept = blocks < 0 ? config_.num_layers : std::min(blocks, config_.num_layers);
  const uint64_t values = uint64_t{2} * static_cast<uint64_t>(kept) *
                          static_cast<uint64_t>(context.size(1) * config_.dim);
  if (values == 0 || values * dtype_size(DType::kBF16) > max_kv_bytes) return text;
  KeysValues first = project_kv(ex, "blocks.0.cross_attn", text->context, nullptr);
  if (values * dtype_size(first.k.dtype()) > max_kv_bytes) return text;
  text->k.push_back(std::move(first.k));
  text->v.push_back(std::move(first.v));
  for (int64_t i = 1; i < kept; ++i) {
    KeysValues kv =
        project_kv(ex, "blocks." + std::to_string(i) + ".cross_attn", text->context, nullptr);
    text->k.push_back(std::move(kv.k));
    text->v.push_back(std::move(kv.v));
  }
  return text;
}

WanDit::State WanDit::begin(Exec& ex, const Tensor& latents, float timestep,
                            const Tensor& context) const {
  return begin(ex, latents, timestep, prepare_text(ex, context, 0));
}

WanDit::State WanDit::begin(Exec& ex, const Tensor& latents, float timestep,
                            std::shared_ptr<const Text> text) const {
  MOVA_CHECK(text != nullptr, ErrorKind::kInternal, "DiT pass without its text");
  State s;
  s.text = std::move(text);
  const Tensor tokens = patchify(ex, latents.to(device()), s.grid);
  const Tensor pw = w("patch_embedding.weight");
  const Tensor pb = w("patch_embedding.bias");
  s.x = linear(ex, tokens, pw.reshape({config_.dim, -1}), &pb);
  s.rope = rope_cache_.get(s.grid, [&] {
    RopeAngles r = rope_angles(s.grid);
    r.angle = r.angle.to(device());  // once per grid, not per pass or attention
    return r;
  });

  const Tensor sin = sinusoidal_embedding(timestep, config_.freq_dim).to(device());
  const Tensor ew0 = w("time_embedding.0.weight"), eb0 = w("time_embedding.0.bias");
  const Tensor ew2 = w("time_embedding.2.weight"), eb2 = w("time_embedding.2.bias");
  s.t_emb = linear(ex, silu(ex, linear(ex, sin, ew0, &eb0)), ew2, &eb2);
  const Tensor pw1 = w("time_projection.1.weight"), pb1 = w("time_projection.1.bias");
  s.t_mod = linear(ex, silu(ex, s.t_emb), pw1, &pb1).reshape({1, 6, config_.dim});
  return s;
}

WanDit::KeysValues WanDit::project_kv(Exec& ex, const std::string& p, const Tensor& source,
                                      const RopeAngles* rope) const {
  const float eps = static_cast<float>(config_.eps);
  const int64_t H = config_.num_heads, hd = config_.head_dim(), S = source.size(1);
  const Tensor kw = w(p + ".k.weight"), kb = w(p + ".k.bias"), vw = w(p + ".v.weight"),
               vb = w(p + ".v.bias"), nk = w(p + ".norm_k.weight");
  // k's RMSNorm runs over the full width, before the head split. Both feed attention only.
  constexpr LinearResult kOperand = LinearResult::kOperand;
  Tensor k = rms_norm(ex, linear(ex, source, kw, &kb, kOperand), &nk, eps).reshape({1, S, H, hd});
  if (rope) k = rope_interleaved(ex, k, *rope);
  return {std::move(k), linear(ex, source, vw, &vb, kOperand).reshape({1, S, H, hd})};
}

Tensor WanDit::attention_block(Exec& ex, const std::string& p, Tensor x, KeysValues kv,
                               const RopeAngles* rope) const {
  const float eps = static_cast<float>(config_.eps);
  const int64_t H = config_.num_heads, hd = config_.head_dim(), L = x.size(1);
  const Tensor qw = w(p + ".q.weight"), qb = w(p + ".q.bias"), ow = w(p + ".o.weight"),
               ob = w(p + ".o.bias"), nq = w(p + ".norm_q.weight");
  Tensor q = linear(ex, x, qw, &qb, LinearResult::kOperand);
  x = Tensor();  // its last use: RMS norm, RoPE and attention do without it
  q = rms_norm(ex, q, &nq, eps).reshape({1, L, H, hd});
  if (rope) q = rope_interleaved(ex, q, *rope);
  const Tensor o = attention(ex, q, kv.k, kv.v).reshape({1, L, config_.dim});
  // The projection needs none of q, k, v: their memory goes back first (when kv was moved in).
  q = Tensor();
  kv = KeysValues();
  return linear(ex, o, ow, &ob);
}

void WanDit::block(Exec& ex, int64_t i, State& s) const {
  MOVA_CHECK(i >= 0 && i < config_.num_layers, ErrorKind::kInternal, "block index ", i);
  const std::string b = "blocks." + std::to_string(i);
  // shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp, each [1, 1, D].
  const Tensor mod = add(ex, w(b + ".modulation").to(DType::kF32), s.t_mod);
  auto chunk = [&](int64_t c) { return mod.narrow(1, c, 1); };
  self_attention_update(ex, b, s, chunk(0), chunk(1), chunk(2));
  cross_attention_update(ex, i, s);
  ffn_update(ex, b, s, chunk(3), chunk(4), chunk(5));
}

// At 720p (176,400 tokens, dim 5,120) the F32 residual stream takes 3.6 GB and each BF16
// activation of its size 1.8 GB. In chunks, the self-attention holds the stream, all keys and
// values, and one chunk's temporaries; the normalised tokens are made twice per chunk (once for
// its keys and values, once for its queries) rather than held whole. In one chunk they are
// made once, as a single pass makes them.
void WanDit::self_attention_update(Exec& ex, const std::string& b, State& s, const Tensor& shift,
                                   const Tensor& scale, const Tensor& gate) const {
  const float eps = static_cast<float>(config_.eps);
  const std::string p = b + ".self_attn";
  const int64_t L = s.x.size(1);
  MOVA_CHECK(s.rope.positions == L, ErrorKind::kShape, "DiT self-attention: RoPE table of ",
             s.rope.positions, " positions for ", L, " tokens");
  const bool one_chunk = L <= chunk_tokens_;
  Tensor whole_h;  // one chunk: the normalised tokens, kept for the queries
  std::vector<Tensor> kv = gather_row_chunks(ex, L, chunk_tokens_, [&](int64_t first, int64_t n) {
    const Tensor h = layer_norm_modulate(ex, s.x.narrow(1, first, n), shift, scale, eps);
    const RopeAngles rope = s.rope.rows(first, n);
    KeysValues rows = project_kv(ex, p, h, &rope);
    if (one_chunk) whole_h = h;
    return std::vector<Tensor>{std::move(rows.k), std::move(rows.v)};
  });
  KeysValues keys_values{std::move(kv[0]), std::move(kv[1])};
  kv.clear();
  update_row_chunks(ex, s.x, chunk_tokens_, [&](const Tensor& x, int64_t first, int64_t n) {
    Tensor h = one_chunk ? std::move(whole_h) : layer_norm_modulate(ex, x, shift, scale, eps);
    const RopeAngles rope = s.rope.rows(first, n);
    // The last chunk hands the keys and values over, so they go before its projection.
    KeysValues chunk_kv = first + n == L ? std::move(keys_values) : keys_values;
    return gated_residual(ex, x, gate,
                          attention_block(ex, p, std::move(h), std::move(chunk_kv), &rope));
  });
}

void WanDit::cross_attention_update(Exec& ex, int64_t i, State& s) const {
  const float eps = static_cast<float>(config_.eps);
  const std::string b = "blocks." + std::to_string(i), p = b + ".cross_attn";
  const Tensor n3w = w(b + ".norm3.weight"), n3b = w(b + ".norm3.bias");
  const Text& text = *s.text;
  const KeysValues text_kv =
      i >= static_cast<int64_t>(text.k.size())
          ? project_kv(ex, p, text.context, nullptr)
          : KeysValues{text.k[static_cast<size_t>(i)], text.v[static_cast<size_t>(i)]};
  update_row_chunks(ex, s.x, chunk_tokens_, [&](const Tensor& x, int64_t, int64_t) {
    return add(ex, x, attention_block(ex, p, layer_norm(ex, x, &n3w, &n3b, eps), text_kv, nullptr));
  });
}

void WanDit::ffn_update(Exec& ex, const std::string& b, State& s, const Tensor& shift,
                        const Tensor& scale, const Tensor& gate) const {
  const float eps = static_cast<float>(config_.eps);
  const Tensor f0w = w(b + ".ffn.0.weight"), f0b = w(b + ".ffn.0.bias");
  const Tensor f2w = w(b + ".ffn.2.weight"), f2b = w(b + ".ffn.2.bias");
  // At 720p (ffn_dim 13,824) the hidden activation would take 4.9 GB in BF16 (9.8 GB in F32)
  // for all tokens at once, twice while GELU runs.
  update_row_chunks(ex, s.x, chunk_tokens_, [&](const Tensor& x, int64_t, int64_t) {
    Tensor hidden = linear(ex, layer_norm_modulate(ex, x, shift, scale, eps), f0w, &f0b,
                           LinearResult::kOperand);
    hidden = gelu(ex, hidden, true);
    return gated_residual(ex, x, gate, linear(ex, hidden, f2w, &f2b));
  });
}

Tensor WanDit::end(Exec& ex, const State& s) const {
  const float eps = static_cast<float>(config_.eps);
  // The head modulates with t_emb (not t_mod): shift = m[0] + t_emb, scale = m[1] + t_emb.
  const Tensor m = w("head.modulation").to(DType::kF32);  // [1, 2, D]
  const Tensor shift = add(ex, m.select(1, 0), s.t_emb);  // [1, D]
  const Tensor scale = add(ex, m.select(1, 1), s.t_emb);
  const Tensor h = layer_norm_modulate(ex, s.x, shift, scale, eps);
  const Tensor hw = w("head.head.weight"), hb = w("head.head.bias");
  const Tensor out = linear(ex, h, hw, &hb);  // [1, L, patch·out_dim]
  return unpatchify(out.reshape({out.size(1), out.size(2)}), s.grid);
}

Tensor WanDit::forward(Exec& ex, const Tensor& latents, float timestep,
                       const Tensor& context) const {
  State s = begin(ex, latents, timestep, context);
  for (int64_t i = 0; i < config_.num_layers; ++i) block(ex, i, s);
  return end(ex, s);
}

}  // namespace mova
