#include "pipeline/eval_stage.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "media/image_io.h"
#include "media/resize.h"
#include "models/dac.h"
#include "models/umt5_encoder.h"
#include "models/wan_dit.h"
#include "models/wan_vae.h"
#include "pipeline/flow_match_scheduler.h"
#include "pipeline/generate.h"
#include "pipeline/joint_denoiser.h"
#include "pipeline/sampler.h"
#include "runtime/error.h"
#include "text/umt5_tokenizer.h"

namespace mova {

StageParams::StageParams(const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) {
    const size_t eq = a.find('=');
    MOVA_CHECK(eq != std::string::npos && eq > 0, ErrorKind::kInvalidArgument, "--set '", a,
               "': expected key=value");
    MOVA_CHECK(values_.emplace(a.substr(0, eq), a.substr(eq + 1)).second,
               ErrorKind::kInvalidArgument, "--set ", a.substr(0, eq), " given twice");
  }
}

const std::string* StageParams::lookup(const std::string& key) const {
  auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

int64_t StageParams::get_int(const std::string& key, int64_t fallback) {
  const std::string* v = lookup(key);
  if (!v) return fallback;
  char* end = nullptr;
  errno = 0;
  const long long n = std::strtoll(v->c_str(), &end, 10);
  MOVA_CHECK(!v->empty() && *end == '\0' && errno == 0, ErrorKind::kInvalidArgument, "--set ", key,
             "=", *v, ": expected an integer");
  return n;
}

double StageParams::get_double(const std::string& key, double fallback) {
  const std::string* v = lookup(key);
  if (!v) return fallback;
  char* end = nullptr;
  const double d = std::strtod(v->c_str(), &end);
  MOVA_CHECK(!v->empty() && *end == '\0' && std::isfinite(d), ErrorKind::kInvalidArgument, "--set ",
             key, "=", *v, ": expected a number");
  return d;
}

std::string StageParams::get_string(const std::string& key, const std::string& fallback) {
  const std::string* v = lookup(key);
  return v ? *v : fallback;
}

void StageParams::check_known(const std::vector<std::string>& options,
                              const std::string& stage) const {
  for (const auto& [key, value] : values_) {
    if (std::find(options.begin(), options.end(), key) != options.end()) continue;
    std::string accepted;
    for (const auto& o : options) accepted += (accepted.empty() ? "" : ", ") + o;
    fail(ErrorKind::kInvalidArgument, "--set ", key, ": not an option of stage '", stage,
         "' (accepted: ", accepted.empty() ? "none" : accepted, ")");
  }
}

const Tensor& StageContext::lookup(const std::string& name, const Shape& shape) const {
  auto it = inputs->find(name);
  MOVA_CHECK(it != inputs->end(), ErrorKind::kInvalidArgument, "input tensor '", name,
             "' is missing from --in");
  const Tensor& t = it->second;
  bool ok = t.dim() == static_cast<int>(shape.size());
  for (int i = 0; ok && i < t.dim(); ++i) ok = shape[i] < 0 || shape[i] == t.size(i);
  MOVA_CHECK(ok, ErrorKind::kShape, "input tensor '", name, "' has shape ", shape_str(t.shape()),
             ", expected ", shape_str(shape), " (-1 = any)");
  return t;
}

Tensor StageContext::input(const std::string& name, const Shape& shape) const {
  const Tensor& t = lookup(name, shape);
  MOVA_CHECK(dtype_is_float(t.dtype()), ErrorKind::kShape, "input tensor '", name, "' is ",
             dtype_name(t.dtype()), ", expected a float dtype");
  return t.to(DType::kF32).contiguous();
}

std::vector<int64_t> StageContext::input_ints(const std::string& name, const Shape& shape) const {
  const Tensor& t = lookup(name, shape);
  std::vector<int64_t> out(t.numel());
  const Tensor c = t.contiguous();
  if (t.dtype() == DType::kI64) {
    std::memcpy(out.data(), c.raw_data(), out.size() * sizeof(int64_t));
  } else {
    const auto f = c.to_vector();  // float or smaller ints, by value
    for (size_t i = 0; i < f.size(); ++i) {
      MOVA_CHECK(f[i] == std::floor(f[i]), ErrorKind::kShape, "input tensor '", name,
                 "' holds the non-integer ", f[i]);
      out[i] = static_cast<int64_t>(f[i]);
    }
  }
  return out;
}

namespace {

Tensor int_tensor(const std::vector<int64_t>& v) {
  Tensor t = Tensor::empty({1, static_cast<int64_t>(v.size())}, DType::kI64);
  std::memcpy(t.raw_data(), v.data(), v.size() * sizeof(int64_t));
  return t;
}

TensorMap run_tokenize(StageContext& ctx) {
  const std::string text = ctx.params->get_string("text", "");
  const int64_t max_length = ctx.params->get_int("max_length", 512);
  const Umt5Tokenizer tok(ctx.checkpoint->folder(Component::kTokenizer));
  const TokenizedPrompt t = tok.encode(text, max_length);
  return {{"input_ids", int_tensor(t.ids)}, {"attention_mask", int_tensor(t.mask)}};
}

TensorMap run_text_encode(StageContext& ctx) {
  const Checkpoint& ckpt = *ctx.checkpoint;
  const auto ids = ctx.input_ints("input_ids", {1, -1});
  const auto mask = ctx.input_ints("attention_mask", {1, static_cast<int64_t>(ids.size())});
  const Umt5Encoder enc(ckpt.text_encoder_config(),
                        ckpt.weights(Component::kTextEncoder, ctx.device));
  return {{"context", enc.encode(*ctx.exec, ids, mask)}};
}

TensorMap run_preprocess_image(StageContext& ctx) {
  const std::string path = ctx.params->get_string("image", "");
  MOVA_CHECK(!path.empty(), ErrorKind::kInvalidArgument, "--set image=PATH is required");
  const int64_t width = ctx.params->get_int("width", 640);
  const int64_t height = ctx.params->get_int("height", 352);
  MOVA_CHECK(width > 0 && height > 0 && width <= 8192 && height <= 8192,
             ErrorKind::kInvalidArgument, "--set width/height must be in [1, 8192]");
  return {{"image", image_to_tensor(crop_and_resize(read_image(path), width, height))}};
}

TensorMap run_schedule(StageContext& ctx) {
  const int64_t steps = ctx.params->get_int("steps", 50);
  MOVA_CHECK(steps >= 1 && steps <= 10000, ErrorKind::kInvalidArgument, "--set steps=", steps,
             ": must be in [1, 10000]");
  const FlowMatchPairScheduler sched(ctx.checkpoint->scheduler_config());
  const auto t = sched.timesteps(steps);
  const int64_t switch_at = sched.expert_switch_step(t, ctx.checkpoint->index().boundary_ratio);
  Tensor timesteps = Tensor::empty({steps, 2}, DType::kF32);
  Tensor deltas = Tensor::empty({steps, 2}, DType::kF32);
  Tensor expert = Tensor::empty({steps}, DType::kF32);
  for (int64_t i = 0; i < steps; ++i) {
    const std::optional<float> next = i + 1 < steps ? std::optional<float>(t[i + 1]) : std::nullopt;
    const float d = sched.step_delta(t[i], next);
    for (int c = 0; c < 2; ++c) {  // video, audio: the published config pairs equal columns
      timesteps.data<float>()[i * 2 + c] = t[i];
      deltas.data<float>()[i * 2 + c] = d;
    }
    expert.data<float>()[i] = i < switch_at ? 1.0f : 2.0f;
  }
  return {{"timesteps", timesteps}, {"step_deltas", deltas}, {"expert", expert}};
}

// What `mova generate` starts from for these settings: its --noise file format, so upstream's
// tensors can be compared with it, or it given back to `mova generate --noise`.
TensorMap run_noise(StageContext& ctx) {
  GenerateRequest r;
  r.prompt = "-";  // resolve() checks a whole request; the prompt plays no part in the noise
  const std::string seed = ctx.params->get_string("seed", "42");
  const auto [end, ec] = std::from_chars(seed.data(), seed.data() + seed.size(), r.seed);
  MOVA_CHECK(ec == std::errc() && end == seed.data() + seed.size(), ErrorKind::kInvalidArgument,
             "--set seed=", seed, ": must be an integer in [0, 2^64)");
  r.rng = parse_noise_rng(ctx.params->get_string("rng", "torch-cuda"), "--set rng");
  r.width = ctx.params->get_int("width", 0);
  r.height = ctx.params->get_int("height", 0);
  r.frames = ctx.params->get_int("frames", 0);
  r.fps = ctx.params->get_double("fps", 0);
  r = Generator(ctx.checkpoint->dir()).resolve(r);
  NoisePair n = generation_noise(*ctx.checkpoint, r);
  return {{"video_noise", n.video}, {"audio_noise", n.audio}};
}

// One DiT tower alone (no bridge): velocity = tower(x, timestep, context).
TensorMap run_dit_forward(StageContext& ctx) {
  const std::string name = ctx.params->get_string("component", "video_dit");
  Component c;
  if (name == "video_dit") {
    c = Component::kVideoDit;
  } else if (name == "video_dit_2") {
    c = Component::kVideoDit2;
  } else if (name == "audio_dit") {
    c = Component::kAudioDit;
  } else {
    fail(ErrorKind::kInvalidArgument, "--set component=", name,
         ": expected video_dit, video_dit_2 or audio_dit");
  }
  const Checkpoint& ckpt = *ctx.checkpoint;
  WanDitConfig cfg = c == Component::kAudioDit ? ckpt.audio_dit_config() : ckpt.video_dit_config(c);
  const Tensor x =
      ctx.input("x", cfg.audio ? Shape{1, cfg.in_dim, -1} : Shape{1, cfg.in_dim, -1, -1, -1});
  const Tensor t = ctx.input("timestep", {1});
  const Tensor context = ctx.input("context", {1, -1, cfg.text_dim});
  const WanDit dit(cfg, ckpt.weights(c, ctx.device));
  return {{"velocity", dit.forward(*ctx.exec, x, t.item_f32({0}), context).to(Device::cpu())}};
}

Tensor scalar_input(const StageContext& ctx, const std::string& name) {
  return ctx.input(name, {1});
}

// Shapes shared by denoise-step and sample.
struct JointShapes {
  Shape video, condition, audio, context;
};

JointShapes joint_shapes(const Checkpoint& ckpt) {
  const WanDitConfig v = ckpt.video_dit_config(Component::kVideoDit);
  const WanDitConfig a = ckpt.audio_dit_config();
  return {{1, v.out_dim, -1, -1, -1},
          {1, v.in_dim - v.out_dim, -1, -1, -1},
          {1, a.in_dim, -1},
          {1, -1, v.text_dim}};
}

TensorMap run_denoise_step(StageContext& ctx) {
  const int64_t expert = ctx.params->get_int("expert", 1);
  const double fps = ctx.params->get_double("fps", 24.0);
  MOVA_CHECK(fps > 0, ErrorKind::kInvalidArgument, "--set fps must be positive");
  const JointShapes s = joint_shapes(*ctx.checkpoint);
  const Tensor video = ctx.input("video_latents", s.video);
  const Tensor cond = ctx.input("video_condition", s.condition);
  const Tensor audio = ctx.input("audio_latents", s.audio);
  const Tensor context = ctx.input("context", s.context);
  const float t = scalar_input(ctx, "timestep").item_f32({0});
  const float ta = scalar_input(ctx, "audio_timestep").item_f32({0});
  const JointDenoiser denoiser(*ctx.checkpoint, ctx.device);
  const Velocities v =
      denoiser.step(*ctx.exec, static_cast<int>(expert), video, cond, audio, context, t, ta, fps);
  return {{"video_velocity", v.video}, {"audio_velocity", v.audio}};
}

TensorMap run_sample(StageContext& ctx) {
  SampleRequest r;
  r.steps = ctx.params->get_int("steps", 50);
  r.cfg = static_cast<float>(ctx.params->get_double("cfg", 5.0));
  r.video_fps = ctx.params->get_double("fps", 24.0);
  MOVA_CHECK(r.steps >= 1 && r.steps <= 10000, ErrorKind::kInvalidArgument,
             "--set steps must be in [1, 10000]");
  MOVA_CHECK(r.video_fps > 0, ErrorKind::kInvalidArgument, "--set fps must be positive");
  const Checkpoint& ckpt = *ctx.checkpoint;
  const JointShapes s = joint_shapes(ckpt);
  r.video_noise = ctx.input("video_noise", s.video);
  r.audio_noise = ctx.input("audio_noise", s.audio);
  r.video_condition = ctx.input("video_condition", s.condition);
  r.context = ctx.input("context", s.context);
  if (r.cfg != 1.0f) r.negative_context = ctx.input("negative_context", s.context);
  r.boundary_ratio = ckpt.index().boundary_ratio;
  const JointDenoiser denoiser(ckpt, ctx.device);
  const FlowMatchPairScheduler sched(ckpt.scheduler_config());
  const SampleResult out = sample(*ctx.exec, denoiser, sched, r);
  return {{"video_latents", out.video_latents}, {"audio_latents", out.audio_latents}};
}

TensorMap run_audio_decode(StageContext& ctx) {
  const Checkpoint& ckpt = *ctx.checkpoint;
  const DacVae vae(ckpt.audio_vae_config(), ckpt.weights(Component::kAudioVae, ctx.device));
  const Tensor z = ctx.input("latents", {1, vae.config().latent_channels(), -1});
  return {{"audio", vae.decode(*ctx.exec, z)}};
}

TensorMap run_audio_encode(StageContext& ctx) {
  const Checkpoint& ckpt = *ctx.checkpoint;
  const DacVae vae(ckpt.audio_vae_config(), ckpt.weights(Component::kAudioVae, ctx.device));
  return {{"latents", vae.encode(*ctx.exec, ctx.input("audio", {1, 1, -1}))}};
}

WanVae load_video_vae(const StageContext& ctx) {
  return WanVae(ctx.checkpoint->video_vae_config(),
                ctx.checkpoint->weights(Component::kVideoVae, ctx.device));
}

TensorMap run_video_encode(StageContext& ctx) {
  const WanVae vae = load_video_vae(ctx);
  return {{"latents", vae.encode(*ctx.exec, ctx.input("video", {1, 3, -1, -1, -1}))}};
}

TensorMap run_video_decode(StageContext& ctx) {
  const WanVae vae = load_video_vae(ctx);
  const Tensor z = ctx.input("latents", {1, vae.config().z_dim, -1, -1, -1});
  return {{"video", vae.decode(*ctx.exec, z)}};
}

TensorMap run_image_condition(StageContext& ctx) {
  const int64_t frames = ctx.params->get_int("frames", 193);
  const WanVae vae = load_video_vae(ctx);
  const Tensor image = ctx.input("image", {1, 3, -1, -1});
  return {{"video_condition", vae.image_condition(*ctx.exec, image, frames)}};
}

}  // namespace

const std::vector<EvalStage>& eval_stages() {
  static const std::vector<EvalStage> stages = {
      {"preprocess-image",
       "--set image=PATH width=W height=H -> image [1,3,H,W] in [-1,1] (PNG/JPEG; upstream's "
       "crop_and_resize: "
       "centre-crop to the aspect, then PIL bicubic resize)",
       false,
       {"image", "width", "height"},
       run_preprocess_image},
      {"schedule",
       "--set steps=N -> timesteps [N,2] (video, audio), step_deltas [N,2] (sigma_to - "
       "sigma_from), expert [N] (1 = video_dit, 2 = video_dit_2)",
       true,
       {"steps"},
       run_schedule},
      {"noise",
       "--set seed=N rng=R width=W height=H frames=F fps=F (defaults as mova generate's) -> "
       "video_noise [1,z_dim,T,H/8,W/8], audio_noise [1,C,L]: the noise mova generate starts "
       "from (its --noise file)",
       true,
       {"seed", "rng", "width", "height", "frames", "fps"},
       run_noise},
      {"dit-forward",
       "--set component=video_dit|video_dit_2|audio_dit: in x [1,in_dim,T,H,W] or [1,in_dim,L], "
       "timestep [1], context [1,S,text_dim] -> velocity (one tower, no bridge)",
       true,
       {"component"},
       run_dit_forward,
       true},
      {"denoise-step",
       "--set expert=1|2 fps=F: in video_latents [1,16,T,H,W], video_condition [1,20,T,H,W], "
       "audio_latents [1,C,L], context [1,S,text_dim], timestep [1], audio_timestep [1] -> "
       "video_velocity, audio_velocity (one joint pass, bridge included, no CFG)",
       true,
       {"expert", "fps"},
       run_denoise_step,
       true},
      {"sample",
       "--set steps=N cfg=S fps=F: in video_noise, audio_noise, video_condition, context, "
       "negative_context -> video_latents, audio_latents (final, before VAE de-normalisation)",
       true,
       {"steps", "cfg", "fps"},
       run_sample,
       true},
      {"audio-decode",
       "in latents [1,C,L] -> audio [1,1,L*hop] (DAC decoder, 48 kHz, untrimmed)",
       true,
       {},
       run_audio_decode,
       true},
      {"audio-encode",
       "in audio [1,1,N] -> latents [1,C,ceil(N/hop)] (DAC encoder, posterior mean)",
       true,
       {},
       run_audio_encode,
       true},
      {"tokenize",
       "--set text=... [max_length=512]: -> input_ids, attention_mask (I64 [1,512]; prompt "
       "cleaned, EOS appended, padded)",
       true,
       {"text", "max_length"},
       run_tokenize},
      {"text-encode",
       "in input_ids, attention_mask [1,L] -> context [1,L,d_model] (UMT5 encoder; rows past the "
       "real length zeroed)",
       true,
       {},
       run_text_encode,
       true},
      {"video-encode",
       "in video [1,3,1+4k,H,W] -> latents [1,z,1+k,H/8,W/8] (posterior mean)",
       true,
       {},
       run_video_encode,
       true},
      {"video-decode",
       "in latents [1,z,T,h,w] (de-normalised) -> video [1,3,1+4(T-1),8h,8w]",
       true,
       {},
       run_video_decode,
       true},
      {"image-condition",
       "--set frames=N: in image [1,3,H,W] in [-1,1] -> video_condition [1,4+z,T,H/8,W/8]",
       true,
       {"frames"},
       run_image_condition,
       true},
  };
  return stages;
}

const EvalStage& find_eval_stage(const std::string& name) {
  std::string known;
  for (const auto& s : eval_stages()) {
    if (name == s.name) return s;
    known += (known.empty() ? "" : ", ") + std::string(s.name);
  }
  fail(ErrorKind::kInvalidArgument, "unknown stage '", name, "' (available: ", known, ")");
}

}  // namespace mova
