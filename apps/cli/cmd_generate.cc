// mova generate: prompt (+ first frame) -> MP4 with video and audio generated together.
// Generation goes through the public C API (include/mova.h), as any embedding application's
// would; the CLI adds option parsing, progress display, extra outputs and the timing table.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>

#include "api/open_device.h"
#include "api/status.h"
#include "commands.h"
#include "format.h"
#include "media/image_io.h"
#include "media/preview.h"
#include "media/wav_writer.h"
#include "mova.h"
#include "output_paths.h"
#include "pipeline/noise.h"
#include "placement.h"
#include "progress.h"
#include "runtime/error.h"
#include "runtime/memory_stats.h"

namespace mova::cli {
namespace {

namespace fs = std::filesystem;

struct GenerateOptions {
  std::string model, prompt, negative_prompt, image, output, noise, save_wav, save_frames;
  std::optional<std::string> rng;
  PlacementOptions placement;
  bool has_negative = false, preview = false, vae_tiling = false, no_tags = false;
  int frames = 0, width = 0, height = 0, steps = 0;
  double fps = 0, cfg = -1;
  uint64_t seed = 42;
};

void check(mova_status s) {
  if (s != MOVA_OK) throw Error(from_status(s), mova_last_error());
}

std::string beside(const std::string& output, const std::string& suffix) {
  fs::path p(output);
  p.replace_extension();
  return p.string() + suffix;
}

struct Abort {
  static volatile std::sig_atomic_t requested;
  // The first Ctrl-C asks for a clean stop after the current step; a second one kills.
  static void on_signal(int) {
    requested = 1;
    std::signal(SIGINT, SIG_DFL);
  }
  static int poll(void*) { return requested; }
};
volatile std::sig_atomic_t Abort::requested = 0;

void run_generate(const GenerateOptions& o, const GlobalOptions& global) {
  const auto t_start = std::chrono::steady_clock::now();
  // Checked here to name the options; the C API parses the same text again.
  const Placement placement = o.placement.resolve();
  if (o.rng) parse_noise_rng(*o.rng, "--rng");
  const std::string model_dir = o.model.empty() ? default_model() : o.model;
  check_writable_folder(o.output, "--output");
  if (!o.save_wav.empty()) check_writable_folder(o.save_wav, "--save-wav");
  if (!o.save_frames.empty()) make_output_folder(o.save_frames, "--save-frames");

  mova_model* model = nullptr;
  check(mova_model_open(model_dir.c_str(), &model));
  std::unique_ptr<mova_model, void (*)(mova_model*)> model_guard(model, mova_model_close);

  const bool quiet = global.log_level == "error" || global.log_level == "silent";
  ProgressPrinter printer(quiet);
  mova_generate_params p;
  mova_generate_params_init(&p);
  p.prompt = o.prompt.c_str();
  p.negative_prompt = o.has_negative ? o.negative_prompt.c_str() : nullptr;
  p.image_path = o.image.empty() ? nullptr : o.image.c_str();
  p.width = o.width;
  p.height = o.height;
  p.frames = o.frames;
  p.steps = o.steps;
  p.fps = o.fps;
  p.cfg = o.cfg;
  p.seed = o.seed;
  p.rng = o.rng ? o.rng->c_str() : nullptr;
  p.noise_path = o.noise.empty() ? nullptr : o.noise.c_str();
  p.threads = global.threads;
  p.vae_tiling = o.vae_tiling ? 1 : 0;
  p.no_tags = o.no_tags ? 1 : 0;
  const PlacementOptions& where = o.placement;
  p.device = where.device.c_str();
  p.text_device = where.text_device.empty() ? nullptr : where.text_device.c_str();
  p.vae_device = where.vae_device.empty() ? nullptr : where.vae_device.c_str();
  p.precision = where.precision ? where.precision->c_str() : nullptr;
  p.device_weights_mib = placement.device_weights_mib;
  p.user_data = &printer;
  p.progress = [](const char* stage, int64_t step, int64_t steps, double secs, void* user) {
    (*static_cast<ProgressPrinter*>(user))({stage, step, steps, secs});
  };
  Abort::requested = 0;
  std::signal(SIGINT, Abort::on_signal);  // Ctrl-C stops cleanly between steps
  p.should_abort = [](void*) { return static_cast<int>(Abort::requested); };

  mova_clip* clip = nullptr;
  const mova_status st = mova_generate(model, &p, &clip);
  std::signal(SIGINT, SIG_DFL);
  check(st);
  std::unique_ptr<mova_clip, void (*)(mova_clip*)> clip_guard(clip, mova_clip_free);
  const mova_clip_info info = mova_clip_get_info(clip);

  const auto t_mux = std::chrono::steady_clock::now();
  if (!quiet) std::fprintf(stderr, "writing %s...\n", o.output.c_str());
  check(mova_clip_write_mp4(clip, o.output.c_str()));
  const double mux_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t_mux).count();

  std::vector<float> audio(mova_clip_audio(clip), mova_clip_audio(clip) + info.samples);
  auto frame = [&](int32_t i) {
    RgbImage img(info.width, info.height);
    std::copy_n(mova_clip_frame(clip, i), img.pixels.size(), img.pixels.begin());
    return img;
  };
  if (!o.save_wav.empty()) write_wav(o.save_wav, audio, info.sample_rate);
  if (!o.save_frames.empty())
    for (int32_t i = 0; i < info.frames; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "frame_%05d.png", i);
      write_png((fs::path(o.save_frames) / name).string(), frame(i));
    }
  if (o.preview) {
    // Copy only the frames the sheet shows (12, evenly spaced), not the whole clip.
    const int32_t shown = std::min<int32_t>(12, info.frames);
    std::vector<RgbImage> frames;
    frames.reserve(static_cast<size_t>(shown));
    for (int32_t i = 0; i < shown; ++i)
      frames.push_back(frame(shown == 1 ? 0 : i * (info.frames - 1) / (shown - 1)));
    write_png(beside(o.output, ".frames.png"), contact_sheet(frames, shown));
    write_png(beside(o.output, ".audio.png"), audio_picture(audio, info.sample_rate));
  }

  if (quiet) return;
  // A third column when a stage ran on a GPU: the most device memory it had in use.
  bool on_gpu = false;
  for (int32_t i = 0; i < mova_clip_stage_count(clip); ++i)
    on_gpu = on_gpu || mova_clip_stage_device_peak_bytes(clip, i) >= 0;
  std::fprintf(stderr, "\n%-14s %10s%s\n", "stage", "time", on_gpu ? "   GPU peak" : "");
  for (int32_t i = 0; i < mova_clip_stage_count(clip); ++i) {
    const int64_t peak = mova_clip_stage_device_peak_bytes(clip, i);
    std::fprintf(stderr, "%-14s %10s", mova_clip_stage_name(clip, i),
                 human_duration(mova_clip_stage_seconds(clip, i)).c_str());
    if (on_gpu)  // "-": the stage ran on the CPU
      std::fprintf(stderr, " %10s",
                   peak >= 0 ? human_bytes(static_cast<double>(peak)).c_str() : "-");
    std::fprintf(stderr, "\n");
  }
  std::fprintf(stderr, "%-14s %10s\n", "mux", human_duration(mux_seconds).c_str());
  std::fprintf(
      stderr, "%-14s %10s\n", "total",
      human_duration(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count())
          .c_str());
  std::fprintf(stderr, "peak memory    %10s  (host)\n",
               human_bytes(static_cast<double>(peak_rss_bytes())).c_str());
  std::fprintf(stderr, "wrote %s: %dx%d, %d frames at %g fps, %lld audio samples at %d Hz\n",
               o.output.c_str(), info.width, info.height, info.frames, info.fps,
               static_cast<long long>(info.samples), info.sample_rate);
}

}  // namespace

void register_generate(CLI::App& app, GlobalOptions& global) {
  auto opt = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "prompt (+ first frame) -> MP4 with audio");
  // A repeated option overrides the earlier one, so scripts can append overrides.
  cmd->option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  cmd->add_option("-m,--model", opt->model,
                  "checkpoint folder (default: $MOVA_MODEL, else the bundled nano model)");
  cmd->add_option("-p,--prompt", opt->prompt, "what to generate")->required();
  cmd->add_option("-o,--output", opt->output, "MP4 to write")->required();
  cmd->add_option("-i,--image", opt->image, "first frame (PNG or JPEG); omit for text-only");
  cmd->add_option_function<std::string>(
      "--negative-prompt",
      [opt](const std::string& s) {
        opt->negative_prompt = s;
        opt->has_negative = true;
      },
      "default: upstream's negative prompt");
  cmd->add_option("--frames", opt->frames, "4k+1 frames (default 193 or the model's)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--fps", opt->fps, "frames per second (default 24)")->check(CLI::PositiveNumber);
  cmd->add_option("--width", opt->width, "multiple of 16 (default from the checkpoint)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--height", opt->height, "multiple of 16 (default from the checkpoint)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--steps", opt->steps, "denoising steps (default 50)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--cfg", opt->cfg, "guidance scale (default 5.0; 1 disables)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--seed", opt->seed, "noise seed (default 42)");
  cmd->add_option("--rng", opt->rng,
                  "how the seed becomes noise: torch-cuda (default: upstream's torch.randn on "
                  "an H100/H200), torch-cuda:SMS[:THREADS_PER_SM] (another GPU), or mova");
  opt->placement.add_to(*cmd);
  cmd->add_option("--noise", opt->noise,
                  "safetensors with video_noise/audio_noise (overrides --seed)");
  cmd->add_option("--save-wav", opt->save_wav, "also write the audio as float WAV");
  cmd->add_option("--save-frames", opt->save_frames, "also write every frame as PNG here");
  cmd->add_flag("--vae-tiling", opt->vae_tiling,
                "decode video in 256-pixel tiles: less memory for large frames, small seams");
  cmd->add_flag("--no-tags", opt->no_tags,
                "write neither the prompt (title) nor the settings (comment) into the MP4");
  cmd->add_flag("--preview", opt->preview,
                "also write OUT.frames.png (contact sheet) and OUT.audio.png (waveform)");
  cmd->callback([opt, &global] { run_generate(*opt, global); });
}

}  // namespace mova::cli
