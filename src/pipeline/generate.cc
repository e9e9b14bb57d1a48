#include "pipeline/generate.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "media/mp4_writer.h"
#include "media/resize.h"
#include "models/dac.h"
#include "models/umt5_encoder.h"
#include "models/wan_vae.h"
#include "pipeline/flow_match_scheduler.h"
#include "pipeline/joint_denoiser.h"
#include "pipeline/noise.h"
#include "pipeline/sampler.h"
#include "runtime/backend.h"
#include "runtime/error.h"
#include "runtime/log.h"
#include "text/prompt_clean.h"
#include "text/umt5_tokenizer.h"

namespace mova {

const char* const kUpstreamNegativePrompt =
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，"
    "低质量，JPEG压缩残留，丑陋的，残缺的，多余的手指";

namespace {

constexpr Component kNeeded[] = {
    Component::kTextEncoder, Component::kTokenizer, Component::kVideoDit,
    Component::kVideoDit2,   Component::kAudioDit,  Component::kBridge,
    Component::kVideoVae,    Component::kAudioVae,  Component::kScheduler};

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Times one stage, reports its start and end, and checks for an abort request before it runs.
class StageRunner {
 public:
  StageRunner(const ProgressFn& progress, const AbortFn& abort, std::vector<StageTime>& timings)
      : progress_(progress), abort_(abort), timings_(timings) {}

  // Runs `body` as `stage` on `device` (whose memory peak it records).
  template <typename F>
  auto operator()(const char* stage, Device device, F&& body) {
    check_abort();
    BufferPool* pool = device.is_cpu() ? nullptr : &backend_for(device, stage).buffers();
    if (pool) pool->mark_peak();
    const auto t0 = Clock::now();
    if (progress_) progress_({stage, 0, 0, 0.0});
    auto result = body(t0);
    timings_.push_back({stage, seconds_since(t0),
                        pool ? static_cast<int64_t>(pool->stats().peak_since_mark) : -1});
    if (progress_) progress_({stage, 0, 0, timings_.back().seconds});
    return result;
  }

  void check_abort() const {
    MOVA_CHECK(!abort_ || !abort_(), ErrorKind::kAborted, "generation aborted by the caller");
  }

 private:
  const ProgressFn& progress_;
  const AbortFn& abort_;
  std::vector<StageTime>& timings_;
};

// The default frame size when neither the request nor the model says: upstream's 360p size
// (352x640; 360 is not a multiple of 16) or 720p when the folder is a 720p checkpoint.
std::pair<int64_t, int64_t> fallback_size(const std::string& dir) {
  const std::string name = std::filesystem::path(dir).lexically_normal().filename().string();
  const std::string base =
      name.empty() ? std::filesystem::path(dir).parent_path().filename().string() : name;
  if (base.find("720") != std::string::npos) return {1280, 720};
  return {640, 352};
}

// Appends decoded frames [3, n, H, W] in [-1, 1] as 8-bit RGB images.
void append_frames(const Tensor& chunk, std::vector<RgbImage>& frames) {
  const Tensor v = chunk.contiguous();
  const int64_t F = v.size(1), H = v.size(2), W = v.size(3), plane = H * W;
  const float* p = v.data<float>();
  for (int64_t f = 0; f < F; ++f) {
    RgbImage img(W, H);
    for (int64_t c = 0; c < 3; ++c) {
      const float* src = p + (c * F + f) * plane;
      for (int64_t i = 0; i < plane; ++i) {
        // Upstream postprocess: (x / 2 + 0.5) clamped to [0, 1], then ·255 rounded.
        const float x = std::clamp(src[i] / 2.0f + 0.5f, 0.0f, 1.0f);
        img.pixels[i * 3 + c] = static_cast<uint8_t>(std::nearbyint(x * 255.0f));
      }
    }
    frames.push_back(std::move(img));
  }
}

Tensor denormalise(const Tensor& latents, const WanVaeConfig& cfg) {  // x·std + mean per channel
  Tensor out = latents.contiguous().clone();
  const int64_t Z = out.size(1), n = out.numel() / Z;
  float* p = out.data<float>();
  for (int64_t c = 0; c < Z; ++c) {
    const float std = static_cast<float>(cfg.latents_std[c]);
    const float mean = static_cast<float>(cfg.latents_mean[c]);
    for (int64_t i = 0; i < n; ++i) p[c * n + i] = p[c * n + i] * std + mean;
  }
  return out;
}

}  // namespace

Generator::Generator(const std::string& model_dir) : checkpoint_(Checkpoint::open(model_dir)) {
  for (Component c : kNeeded) checkpoint_.require(c, "mova generate");
}

GenerateRequest Generator::resolve(GenerateRequest r, SettingNames names) const {
  const ModelIndex::Defaults& d = checkpoint_.index().defaults;
  const auto [fw, fh] = fallback_size(checkpoint_.dir());
  if (r.width == 0) r.width = d.width > 0 ? d.width : fw;
  if (r.height == 0) r.height = d.height > 0 ? d.height : fh;
  if (r.frames == 0) r.frames = d.frames > 0 ? d.frames : 193;
  if (r.steps == 0) r.steps = d.steps > 0 ? d.steps : 50;
  if (r.fps == 0) r.fps = d.fps > 0 ? d.fps : 24.0;
  if (!r.cfg) r.cfg = d.cfg > 0 ? d.cfg : 5.0;
  if (!r.negative_prompt) r.negative_prompt = kUpstreamNegativePrompt;

  // The setting as the caller knows it, alone or with the value given: "--frames 4" or
  // "field 'frames' (4)".
  const bool json = names == SettingNames::kJsonFields;
  const auto named = [json](std::string_view option) {
    std::string field(option);  // --negative-prompt is the field negative_prompt
    std::replace(field.begin(), field.end(), '-', '_');
    return json ? str_cat("field '", field, "'") : str_cat("--", option);
  };
  const auto setting = [&](std::string_view name, const auto& value) {
    return json ? str_cat(named(name), " (", value, ")") : str_cat(named(name), ' ', value);
  };
  const WanDitConfig v = checkpoint_.video_dit_config(Component::kVideoDit);
  const int64_t align = 8 * std::max(v.patch_size[1], v.patch_size[2]);  // VAE x8, then patches
  MOVA_CHECK(!r.prompt.empty(), ErrorKind::kInvalidArgument, named("prompt"), " must not be empty");
  for (const auto& [name, text] : {std::pair<const char*, const std::string&>{"prompt", r.prompt},
                                   {"negative-prompt", *r.negative_prompt}})
    MOVA_CHECK(text.size() <= kMaxPromptBytes, ErrorKind::kInvalidArgument, named(name), ": ",
               text.size(), " bytes, at most ", kMaxPromptBytes, " are taken");
  MOVA_CHECK(r.frames >= 1 && (r.frames - 1) % 4 == 0 && r.frames <= 4001,
             ErrorKind::kInvalidArgument, setting("frames", r.frames),
             ": must be 4k+1 (1, 5, 9, ..., 193, ...) and at most 4001");
  MOVA_CHECK(r.width > 0 && r.width % align == 0 && r.width <= 8192, ErrorKind::kInvalidArgument,
             setting("width", r.width), ": must be a positive multiple of ", align, " up to 8192");
  MOVA_CHECK(r.height > 0 && r.height % align == 0 && r.height <= 8192, ErrorKind::kInvalidArgument,
             setting("height", r.height), ": must be a positive multiple of ", align,
             " up to 8192");
  MOVA_CHECK(r.steps >= 1 && r.steps <= 1000, ErrorKind::kInvalidArgument,
             setting("steps", r.steps), ": must be in [1, 1000]");
  MOVA_CHECK(std::isfinite(*r.cfg) && *r.cfg >= 0 && *r.cfg <= 100, ErrorKind::kInvalidArgument,
             setting("cfg", *r.cfg), ": must be in [0, 100]");
  MOVA_CHECK(std::isfinite(r.fps) && r.fps > 0 && r.fps <= 240, ErrorKind::kInvalidArgument,
             setting("fps", r.fps), ": must be in (0, 240]");
  if (!r.noise_path.empty())
    MOVA_CHECK(std::filesystem::is_regular_file(r.noise_path), ErrorKind::kIo,
               setting("noise", r.noise_path), ": no such file");
  return r;
}

namespace {

// The shortest text that reads back as `v` (cfg 4.75, fps 23.976023976023978): the settings
// must reproduce the clip, which six significant digits would not.
std::string exact(double v) {
  char buf[32];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return std::string(buf, end);
}

}  // namespace

void write_clip_mp4(const std::string& path, const GeneratedClip& clip) {
  Mp4Options options;
  options.fps = clip.fps;
  options.title = clip.title;
  options.comment = clip.comment;
  write_mp4(path, clip.frames, clip.audio, clip.sample_rate, options);
}

std::string generation_settings(const GenerateRequest& r, const std::string& model_dir) {
  std::string model = std::filesystem::path(model_dir).filename().string();
  if (model.empty()) model = std::filesystem::path(model_dir).parent_path().filename().string();
  std::ostringstream o;
  o << "mova.cpp: model " << model << ", ";
  if (r.noise_path.empty())
    o << "seed " << r.seed << " (rng " << noise_rng_name(r.rng) << ")";
  else
    o << "noise " << std::filesystem::path(r.noise_path).filename().string();
  o << ", " << r.steps << " steps, cfg " << exact(r.cfg.value_or(0)) << ", " << r.width << "x"
    << r.height << ", " << r.frames << " frames at " << exact(r.fps) << " fps, "
    << (r.image ? "first frame given" : "text only");
  if (r.negative_prompt && *r.negative_prompt != kUpstreamNegativePrompt)
    o << ", own negative prompt";
  if (!r.device.is_cpu() || !r.text_device.is_cpu() || !r.vae_device.is_cpu())
    o << ", " << precision_name(r.precision) << " on GPU (denoiser " << r.device.str() << ", text "
      << r.text_device.str() << ", VAEs " << r.vae_device.str() << ")";
  return o.str();
}

NoisePair generation_noise(const Checkpoint& ck, const GenerateRequest& r) {
  const DacConfig dac = ck.audio_vae_config();
  const Shape video{1, ck.video_vae_config().z_dim, (r.frames - 1) / 4 + 1, r.height / 8,
                    r.width / 8};
  const int64_t samples =
      audio_samples_for_frames(r.frames, r.fps, static_cast<int>(dac.sample_rate));
  const Shape audio{1, dac.latent_channels(), (samples - 1) / dac.hop_length() + 1};
  if (!r.noise_path.empty()) return load_noise(r.noise_path, video, audio);
  return initial_noise(r.rng, r.seed, video, audio);
}

GeneratedClip Generator::run(Exec& ex, const GenerateRequest& r, const ProgressFn& progress,
                             const AbortFn& abort) const {
  const Checkpoint& ck = checkpoint_;
  GeneratedClip clip;
  clip.fps = r.fps;
  if (r.tags) {
    clip.title = r.prompt;
    clip.comment = generation_settings(r, ck.dir());
  }
  StageRunner stage(progress, abort, clip.timings);
  const bool guided = *r.cfg != 1.0;

  SampleRequest s;  // noise first: a bad --noise file fails before any model runs
  NoisePair noise = generation_noise(ck, r);
  s.video_noise = noise.video;
  s.audio_noise = noise.audio;
  const WanVaeConfig vae_config = ck.video_vae_config();
  const DacConfig dac_config = ck.audio_vae_config();
  const int64_t T = s.video_noise.shape()[2], h = s.video_noise.shape()[3],
                w = s.video_noise.shape()[4];
  const int64_t samples =
      audio_samples_for_frames(r.frames, r.fps, static_cast<int>(dac_config.sample_rate));

  struct Contexts {
    Tensor positive, negative;
  };
  const Contexts ctx = stage("text", r.text_device, [&](Clock::time_point) {
    const Umt5Tokenizer tokenizer(ck.folder(Component::kTokenizer));
    const Umt5Encoder encoder(ck.text_encoder_config(),
                              ck.weights(Component::kTextEncoder, r.text_device));
    auto embed = [&](const std::string& text) {
      const TokenizedPrompt t = tokenizer.encode(text);
      MOVA_LOG_DEBUG("prompt: ", t.length, " tokens");
      return encoder.encode(ex, t.ids, t.mask);
    };
    Contexts c{embed(r.prompt), {}};
    if (guided) c.negative = embed(*r.negative_prompt);
    return c;
  });

  const Tensor condition = stage("condition", r.vae_device, [&](Clock::time_point) {
    if (!r.image) {
      MOVA_LOG_INFO("no --image: text-only generation (zero video condition)");
      return Tensor::zeros({1, 4 + vae_config.z_dim, T, h, w}, DType::kF32);
    }
    const RgbImage first = crop_and_resize(*r.image, r.width, r.height);
    const WanVae vae(vae_config, ck.weights(Component::kVideoVae, r.vae_device));
    return vae.image_condition(ex, image_to_tensor(first), r.frames);
  });

  s.video_condition = condition;
  s.context = ctx.positive;
  s.negative_context = ctx.negative;
  s.steps = r.steps;
  s.cfg = static_cast<float>(*r.cfg);
  s.video_fps = r.fps;
  s.boundary_ratio = ck.index().boundary_ratio;

  const SampleResult latents = stage("denoise", r.device, [&](Clock::time_point t0) {
    const JointDenoiser denoiser(ck, r.device, r.device_weight_budget);
    const FlowMatchPairScheduler scheduler(ck.scheduler_config());
    SampleResult result = sample(ex, denoiser, scheduler, s, [&](int64_t step, int64_t steps, int) {
      if (progress) progress({"denoise", step + 1, steps, seconds_since(t0)});
      return !abort || !abort();
    });
    if (const DeviceWeightCache* cache = denoiser.device_weights()) {
      const DeviceWeightCache::Stats w = cache->stats();
      constexpr double kMib = 1 << 20;
      MOVA_LOG_INFO("denoiser weights on ", r.device.str(), ": ", w.uploads, " uploads (",
                    w.uploaded_bytes / kMib, " MiB; ", w.prefetches, " begun ahead of their use, ",
                    w.unused_prefetches, " unused), peak ", w.peak_resident_bytes / kMib,
                    " MiB resident, budget ",
                    w.budget_bytes ? str_cat(w.budget_bytes / kMib, " MiB") : "none");
    }
    return result;
  });

  clip.frames = stage("video-decode", r.vae_device, [&](Clock::time_point) {
    const WanVae vae(vae_config, ck.weights(Component::kVideoVae, r.vae_device));
    const Tensor z = denormalise(latents.video_latents, vae_config);
    const VaeTiling tiling;
    const auto decode = [&](const VaeTiling* tiles) {
      std::vector<RgbImage> frames;  // chunk by chunk: the float video is never held whole
      frames.reserve(static_cast<size_t>(r.frames));
      vae.decode(
          ex, z, [&](const Tensor& chunk) { append_frames(chunk, frames); }, tiles);
      return frames;
    };
    const bool tiles_help = h > tiling.tile || w > tiling.tile;  // else tiling decodes whole
    if (r.vae_tiling || r.vae_device.is_cpu() || !tiles_help)
      return decode(r.vae_tiling ? &tiling : nullptr);
    // Whole frames on a GPU that cannot hold them (720p needs ≈ 18 GiB, docs/cuda.md): decoded
    // again in tiles rather than losing the denoising done so far. Not when the host ran out:
    // tiles need more host memory, not less.
    try {
      return decode(nullptr);
    } catch (const Error& e) {
      if (!is_device_out_of_memory(e)) throw;
      MOVA_LOG_WARN(r.vae_device.str(), " ran out of memory decoding whole frames (", e.what(),
                    "); decoding in tiles instead, as --vae-tiling does");
    }
    stage.check_abort();
    backend_for(r.vae_device, "video-decode").buffers().mark_peak();  // the tiled decode's peak
    if (r.tags) clip.comment += ", video decoded in tiles (out of GPU memory)";
    return decode(&tiling);
  });

  clip.audio = stage("audio-decode", r.vae_device, [&](Clock::time_point) {
    const DacVae dac(dac_config, ck.weights(Component::kAudioVae, r.vae_device));
    const Tensor wave = dac.decode(ex, latents.audio_latents).contiguous();
    const float* p = wave.data<float>();
    return std::vector<float>(p, p + std::min<int64_t>(samples, wave.numel()));
  });
  clip.sample_rate = static_cast<int>(dac_config.sample_rate);
  return clip;
}

}  // namespace mova
