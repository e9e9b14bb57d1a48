// The C API (include/mova.h) over the C++ engine: exceptions become status codes, with the
// message kept per thread for mova_last_error().
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "api/open_device.h"
#include "api/status.h"
#include "media/image_io.h"
#include "models/checkpoint.h"
#include "models/checkpoint_info.h"
#include "mova.h"
#include "pipeline/generate.h"
#include "runtime/error.h"
#include "runtime/log.h"

struct mova_model {
  mova::Checkpoint checkpoint;
};

struct mova_clip {
  mova::GeneratedClip clip;
};

namespace {

thread_local std::string t_last_error;

template <typename Fn>
mova_status guarded(Fn&& fn) {
  try {
    fn();
    t_last_error.clear();
    return MOVA_OK;
  } catch (const mova::Error& e) {
    t_last_error = e.what();
    return mova::to_status(e.kind());
  } catch (const std::bad_alloc&) {
    t_last_error = "out of host memory";
    return MOVA_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    t_last_error = std::string("internal error: ") + e.what();
    return MOVA_ERR_INTERNAL;
  }
}

}  // namespace

extern "C" {

const char* mova_version(void) {
  return "0.1.0";
}
const char* mova_last_error(void) {
  return t_last_error.c_str();
}

void mova_set_log_callback(mova_log_callback callback, void* user_data) {
  if (!callback) {
    mova::set_log_sink(nullptr);
    return;
  }
  mova::set_log_sink([callback, user_data](mova::LogLevel level, const std::string& msg) {
    callback(static_cast<mova_log_level>(level), msg.c_str(), user_data);
  });
}

void mova_set_log_level(mova_log_level level) {
  mova::set_log_level(static_cast<mova::LogLevel>(level));
}

mova_status mova_model_open(const char* path, mova_model** out_model) {
  return guarded([&] {
    MOVA_CHECK(path && out_model, mova::ErrorKind::kInvalidArgument,
               "mova_model_open: path and out_model must not be NULL");
    *out_model = nullptr;
    *out_model = new mova_model{mova::Checkpoint::open(path)};
  });
}

void mova_model_close(mova_model* model) {
  delete model;
}

char* mova_model_info_json(mova_model* model) {
  char* out = nullptr;
  guarded([&] {
    MOVA_CHECK(model, mova::ErrorKind::kInvalidArgument, "mova_model_info_json: model is NULL");
    const std::string s = mova::describe_checkpoint(model->checkpoint).dump(2);
    out = static_cast<char*>(std::malloc(s.size() + 1));
    MOVA_CHECK(out, mova::ErrorKind::kOutOfMemory, "out of memory");
    std::memcpy(out, s.c_str(), s.size() + 1);
  });
  return out;
}

void mova_free_string(char* s) {
  std::free(s);
}

void mova_generate_params_init(mova_generate_params* p) {
  if (!p) return;
  *p = mova_generate_params{};
  p->cfg = -1.0;
  p->seed = 42;
}

mova_status mova_generate(mova_model* model, const mova_generate_params* p, mova_clip** out) {
  return guarded([&] {
    MOVA_CHECK(model && p && out, mova::ErrorKind::kInvalidArgument,
               "mova_generate: model, params and out_clip must not be NULL");
    *out = nullptr;
    MOVA_CHECK(p->prompt, mova::ErrorKind::kInvalidArgument, "mova_generate: prompt is NULL");
    const mova::Generator generator(model->checkpoint.dir());
    mova::GenerateRequest r;
    r.prompt = p->prompt;
    if (p->negative_prompt) r.negative_prompt = std::string(p->negative_prompt);
    r.width = p->width;
    r.height = p->height;
    r.frames = p->frames;
    r.steps = p->steps;
    r.fps = p->fps;
    if (p->cfg >= 0) r.cfg = p->cfg;
    r.seed = p->seed;
    if (p->rng) r.rng = mova::parse_noise_rng(p->rng, "rng");
    if (p->noise_path) r.noise_path = p->noise_path;
    r.vae_tiling = p->vae_tiling != 0;
    r.tags = p->no_tags == 0;
    if (p->device) r.device = mova::parse_device(p->device, "device");
    r.text_device = p->text_device ? mova::parse_device(p->text_device, "text_device") : r.device;
    r.vae_device = p->vae_device ? mova::parse_device(p->vae_device, "vae_device") : r.device;
    r.precision = mova::choose_precision(
        p->precision ? std::optional<std::string>(p->precision) : std::nullopt,
        {r.device, r.text_device, r.vae_device}, "precision", mova::Precision::kBF16);
    MOVA_CHECK(p->device_weights_mib >= 0, mova::ErrorKind::kInvalidArgument, "device_weights_mib ",
               p->device_weights_mib, " must be >= 0");
    r.device_weight_budget = static_cast<uint64_t>(p->device_weights_mib) << 20;
    r = generator.resolve(r);
    if (p->image_path) r.image = mova::read_image(p->image_path);
    mova::ProgressFn progress;
    if (p->progress)
      progress = [p](const mova::GenerateProgress& g) {
        p->progress(g.stage, g.step, g.steps, g.stage_seconds, p->user_data);
      };
    mova::AbortFn abort;
    if (p->should_abort) abort = [p] { return p->should_abort(p->user_data) != 0; };
    // Open for this call only: the weights are uploaded per call anyway.
    const auto backends = mova::open_devices({r.device, r.text_device, r.vae_device}, r.precision);
    mova::Exec ex(p->threads);
    auto clip = std::make_unique<mova_clip>();
    clip->clip = generator.run(ex, r, progress, abort);
    *out = clip.release();
  });
}

mova_clip_info mova_clip_get_info(const mova_clip* c) {
  mova_clip_info info{};
  if (!c || c->clip.frames.empty()) return info;
  info.width = static_cast<int32_t>(c->clip.frames[0].width);
  info.height = static_cast<int32_t>(c->clip.frames[0].height);
  info.frames = static_cast<int32_t>(c->clip.frames.size());
  info.fps = c->clip.fps;
  info.sample_rate = c->clip.sample_rate;
  info.samples = static_cast<int64_t>(c->clip.audio.size());
  return info;
}

const uint8_t* mova_clip_frame(const mova_clip* c, int32_t index) {
  if (!c || index < 0 || static_cast<size_t>(index) >= c->clip.frames.size()) return nullptr;
  return c->clip.frames[static_cast<size_t>(index)].pixels.data();
}

const float* mova_clip_audio(const mova_clip* c) {
  return c ? c->clip.audio.data() : nullptr;
}

int32_t mova_clip_stage_count(const mova_clip* c) {
  return c ? static_cast<int32_t>(c->clip.timings.size()) : 0;
}

const char* mova_clip_stage_name(const mova_clip* c, int32_t i) {
  if (!c || i < 0 || i >= mova_clip_stage_count(c)) return nullptr;
  return c->clip.timings[static_cast<size_t>(i)].name.c_str();
}

double mova_clip_stage_seconds(const mova_clip* c, int32_t i) {
  if (!c || i < 0 || i >= mova_clip_stage_count(c)) return 0.0;
  return c->clip.timings[static_cast<size_t>(i)].seconds;
}

int64_t mova_clip_stage_device_peak_bytes(const mova_clip* c, int32_t i) {
  if (!c || i < 0 || i >= mova_clip_stage_count(c)) return -1;
  return c->clip.timings[static_cast<size_t>(i)].device_peak_bytes;
}

mova_status mova_clip_write_mp4(const mova_clip* c, const char* path) {
  return guarded([&] {
    MOVA_CHECK(c && path, mova::ErrorKind::kInvalidArgument,
               "mova_clip_write_mp4: clip and path must not be NULL");
    mova::write_clip_mp4(path, c->clip);
  });
}

void mova_clip_free(mova_clip* c) {
  delete c;
}

}  // extern "C"
