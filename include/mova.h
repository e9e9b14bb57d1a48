/*
 * mova.h: the public C API of mova.cpp.
 *
 * Usage:
 *
 *   mova_model* model = NULL;
 *   if (mova_model_open("MOVA-360p", &model) != MOVA_OK) {
 *     fprintf(stderr, "%s\n", mova_last_error());
 *     return 1;
 *   }
 *   mova_generate_params p;
 *   mova_generate_params_init(&p);          // upstream's defaults
 *   p.prompt = "A drummer hits the snare twice.";
 *   p.image_path = "first_frame.png";       // NULL: text-only
 *   mova_clip* clip = NULL;
 *   if (mova_generate(model, &p, &clip) == MOVA_OK) {
 *     mova_clip_info info = mova_clip_get_info(clip);
 *     const uint8_t* rgb = mova_clip_frame(clip, 0);   // info.width * info.height * 3 bytes
 *     const float* pcm = mova_clip_audio(clip);        // info.samples mono samples
 *     mova_clip_write_mp4(clip, "out.mp4");
 *     mova_clip_free(clip);
 *   }
 *   mova_model_close(model);
 *
 * Thread safety: a mova_model may be used from one thread at a time (one generation at a
 * time); distinct models are independent, and a mova_clip is immutable and may be read from
 * any thread. mova_last_error() is per thread. The log callback may be called from any
 * thread and must be thread-safe; the progress and abort callbacks are called on the thread
 * that called mova_generate.
 */
#ifndef MOVA_H
#define MOVA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mova_status {
  MOVA_OK = 0,
  MOVA_ERR_INVALID_ARGUMENT = 1,
  MOVA_ERR_IO = 2,
  MOVA_ERR_FORMAT = 3,
  MOVA_ERR_SHAPE = 4,
  MOVA_ERR_UNSUPPORTED = 5,
  MOVA_ERR_INTERNAL = 6,
  MOVA_ERR_ABORTED = 7,
  MOVA_ERR_OUT_OF_MEMORY = 8, /* host or GPU memory ran out */
} mova_status;

typedef enum mova_log_level {
  MOVA_LOG_DEBUG = 0,
  MOVA_LOG_INFO = 1,
  MOVA_LOG_WARN = 2,
  MOVA_LOG_ERROR = 3,
} mova_log_level;

typedef void (*mova_log_callback)(mova_log_level level, const char* message, void* user_data);

/* Library version, e.g. "0.1.0". */
const char* mova_version(void);

/* Message of the last failed call on this thread ("" if none). Valid until the next call. */
const char* mova_last_error(void);

/* Routes log messages to `callback` (NULL restores the default: stderr). */
void mova_set_log_callback(mova_log_callback callback, void* user_data);
void mova_set_log_level(mova_log_level level);

typedef struct mova_model mova_model;

/* Opens a MOVA checkpoint folder (the published layout: model_index.json + component folders).
 * Reads headers and configs only; weights are memory-mapped when first needed. */
mova_status mova_model_open(const char* path, mova_model** out_model);
void mova_model_close(mova_model* model);

/* A JSON description of the checkpoint (what `mova info --json` prints). Free with
 * mova_free_string. Returns NULL on error (see mova_last_error). */
char* mova_model_info_json(mova_model* model);
void mova_free_string(char* s);

/* ---- generation ---------------------------------------------------------------------- */

/* Called when a stage starts (step 0, seconds 0), after each denoising step (step 1..steps)
 * and when a stage ends (step 0, seconds > 0). Stages: "text", "condition", "denoise",
 * "video-decode", "audio-decode". */
typedef void (*mova_progress_callback)(const char* stage, int64_t step, int64_t steps,
                                       double stage_seconds, void* user_data);
/* Polled between stages and steps; return non-zero to stop (mova_generate returns
 * MOVA_ERR_ABORTED). */
typedef int (*mova_abort_callback)(void* user_data);

typedef struct mova_generate_params {
  const char* prompt;          /* required, UTF-8, at most 64 KiB */
  const char* negative_prompt; /* NULL: upstream's default negative prompt */
  const char* image_path;      /* PNG or JPEG first frame; NULL: text-only */
  int32_t width, height;       /* multiples of 16; 0: the model's default */
  int32_t frames;              /* 4k+1; 0: default (193) */
  int32_t steps;               /* 0: default (50) */
  double fps;                  /* 0: default (24) */
  double cfg;                  /* < 0: default (5.0); 1.0 disables guidance */
  uint64_t seed;               /* default 42 */
  const char* rng;             /* how the seed becomes noise: "torch-cuda" (NULL: upstream's
                                  torch.randn on an H100/H200 after torch.manual_seed),
                                  "torch-cuda:SMS[:THREADS_PER_SM]" (on another GPU), or
                                  "mova" (this engine's own stream) */
  const char* noise_path;      /* safetensors with video_noise/audio_noise, or NULL */
  int32_t threads;             /* 0: every CPU the process may use (quotas too) */
  int32_t vae_tiling;          /* non-zero: decode video in 256-pixel tiles (less memory); zero:
                                  whole frames, or tiles if the GPU runs out of memory for them
                                  (a warning; the MP4's settings tag says so) */
  const char* device;          /* where the models run: "cpu" (NULL), "cuda", "cuda:N" */
  const char* text_device;     /* the text encoder's device; NULL: `device` */
  const char* vae_device;      /* both VAEs' device; NULL: `device` */
  int64_t device_weights_mib;  /* > 0: keep at most this much of the denoiser's weights on
                                  its device, streaming the rest each step; 0: as much as
                                  fits (copies are given back when the device is full) */
  const char* precision;       /* a GPU's arithmetic: "bf16" (NULL: GEMM and attention
                                  operands rounded to BF16, F32 accumulation, tensor cores)
                                  or "f32" (strict F32, the CPU's results to ~1e-5); the CPU
                                  computes in F32 whatever this says, so "bf16" with no
                                  component on a GPU is an error, as is "" */
  int32_t no_tags;             /* non-zero: the MP4 carries neither the prompt (title) nor
                                  the settings (comment) */
  mova_progress_callback progress;
  mova_abort_callback should_abort;
  void* user_data; /* passed to both callbacks */
} mova_generate_params;

/* Fills `params` with the defaults above (prompt NULL: set it). */
void mova_generate_params_init(mova_generate_params* params);

typedef struct mova_clip mova_clip;

/* Runs the whole pipeline. Invalid parameters fail before any heavy work. */
mova_status mova_generate(mova_model* model, const mova_generate_params* params,
                          mova_clip** out_clip);

typedef struct mova_clip_info {
  int32_t width, height, frames;
  double fps;
  int32_t sample_rate;
  int64_t samples; /* mono samples: int(sample_rate * frames / fps) */
} mova_clip_info;

mova_clip_info mova_clip_get_info(const mova_clip* clip);
/* Frame `index` as packed RGB (height rows of width*3 bytes); NULL when out of range. */
const uint8_t* mova_clip_frame(const mova_clip* clip, int32_t index);
/* Mono float PCM in [-1, 1]. */
const float* mova_clip_audio(const mova_clip* clip);
/* Per-stage wall times of the generation that made the clip. */
int32_t mova_clip_stage_count(const mova_clip* clip);
const char* mova_clip_stage_name(const mova_clip* clip, int32_t index);
double mova_clip_stage_seconds(const mova_clip* clip, int32_t index);
/* The most GPU memory the stage had in use at once, in bytes, on the GPU it ran on; -1 for a
   stage on the CPU or an index out of range. */
int64_t mova_clip_stage_device_peak_bytes(const mova_clip* clip, int32_t index);
/* Writes H.264 + AAC MP4 (written to a temporary name, renamed when complete). */
mova_status mova_clip_write_mp4(const mova_clip* clip, const char* path);
void mova_clip_free(mova_clip* clip);

#ifdef __cplusplus
}
#endif

#endif /* MOVA_H */
