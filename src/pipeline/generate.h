// The whole job (upstream scripts/inference_single.py + MOVA.__call__): prompt (+ first frame)
// -> UMT5 context -> image condition -> joint flow-matching sampling -> video VAE decode and
// DAC decode -> RGB frames and PCM. Muxing to MP4 is the caller's (media/mp4_writer.h).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "media/image.h"
#include "models/checkpoint.h"
#include "pipeline/noise.h"
#include "runtime/backend.h"
#include "runtime/device.h"
#include "runtime/exec.h"

namespace mova {

// scripts/inference_single.py's default negative prompt (the Wan negative prompt), verbatim.
extern const char* const kUpstreamNegativePrompt;

struct GenerateRequest {
  std::string prompt;
  std::optional<std::string> negative_prompt;  // unset: kUpstreamNegativePrompt
  // The first frame, any size (cropped and resized like upstream). Unset: text-only, the
  // video condition is all zeros (mask 0: no frame is known); see docs/generate.md.
  std::optional<RgbImage> image;
  // 0 = the model's default (model_index.json "mova_cpp_defaults", else upstream's).
  int64_t width = 0, height = 0, frames = 0, steps = 0;
  double fps = 0;
  std::optional<double> cfg;
  uint64_t seed = 42;
  NoiseRng rng;            // how the seed becomes noise (default: upstream's torch.randn on CUDA)
  std::string noise_path;  // safetensors with video_noise/audio_noise; overrides the seed
  // Decode video in 256-pixel tiles (less memory, seams; wan_vae.h). Without it, a GPU that runs
  // out of memory for whole frames decodes in tiles anyway (a warning, and the settings tag
  // says so).
  bool vae_tiling = false;
  bool tags = true;  // GeneratedClip::title/comment (the MP4's tags) filled in
  // Where each part runs; the backends of the devices named must be open (api/open_device.h).
  Device device;       // the denoiser: both video experts, the audio DiT, the bridge
  Device text_device;  // the text encoder
  Device vae_device;   // the video VAE (first-frame condition, decoding) and the audio VAE
  // At most this many bytes of denoiser weights stay on its device (0: all of them); the rest
  // stream from host memory every step (a model larger than the GPU, slower).
  uint64_t device_weight_budget = 0;
  // The arithmetic the GPU backends were opened with (api/open_device.h); recorded in the
  // settings tag when a part runs on a GPU, since bf16 and f32 give visibly different clips.
  Precision precision = Precision::kF32;
};

struct GenerateProgress {
  const char* stage;  // "text", "condition", "denoise", "video-decode", "audio-decode"
  int64_t step = 0;   // denoising step just finished (1-based); 0 for other stages
  int64_t steps = 0;
  double stage_seconds = 0;  // time spent in this stage so far
};
using ProgressFn = std::function<void(const GenerateProgress&)>;
using AbortFn = std::function<bool()>;  // return true to stop; run() then throws kAborted

struct StageTime {
  std::string name;
  double seconds = 0;
  // The most memory in use at once on the GPU the stage ran on (its pool's buffers, size
  // classes included); -1 for a stage on the CPU, whose memory is the process's.
  int64_t device_peak_bytes = -1;
};

struct GeneratedClip {
  std::vector<RgbImage> frames;  // `frames` images of width x height
  std::vector<float> audio;      // mono PCM in [-1, 1], int(sample_rate·frames/fps) samples
  int sample_rate = 0;
  double fps = 0;
  std::vector<StageTime> timings;
  // For the MP4's tags: the prompt, and how the clip was made (generation_settings()).
  std::string title, comment;
};

// Writes `clip` as an H.264 + AAC MP4 carrying its title and comment tags, atomically
// (media/mp4_writer.h).
void write_clip_mp4(const std::string& path, const GeneratedClip& clip);

// "mova.cpp: model nano, seed 42, 40 steps, cfg 5, 64x64, 49 frames at 24 fps, first frame
// given": what reproduces a resolved request with the same model.
std::string generation_settings(const GenerateRequest& request, const std::string& model_dir);

// The initial noise of a resolved request: video [1, z_dim, (frames - 1) / 4 + 1, H / 8, W / 8]
// and audio [1, latent channels, L], read from its noise file or drawn from its seed by its rng.
NoisePair generation_noise(const Checkpoint& checkpoint, const GenerateRequest& resolved);

class Generator {
 public:
  // Opens the checkpoint and checks that every component generation needs is present.
  explicit Generator(const std::string& model_dir);

  const Checkpoint& checkpoint() const { return checkpoint_; }

  // How resolve() names a setting in its errors: as `mova generate`'s option (--frames; the C
  // API's too, since the CLI is built on it), or as the field of `mova serve`'s JSON body
  // (field 'frames').
  enum class SettingNames { kCliOptions, kJsonFields };

  // Fills unset fields with defaults and checks every value, naming the setting on failure.
  // Cheap: call it before any heavy work.
  GenerateRequest resolve(GenerateRequest request,
                          SettingNames names = SettingNames::kCliOptions) const;

  // Runs a resolved request. Progress is reported from the calling thread.
  GeneratedClip run(Exec& ex, const GenerateRequest& request, const ProgressFn& progress = {},
                    const AbortFn& abort = {}) const;

 private:
  Checkpoint checkpoint_;
};

}  // namespace mova
