// The C API (include/mova.h) over the C++ engine: exceptions become status codes, with the
// message kept per thread for mova_last_error().
#include <cstdlib>
#include <cstring>
#include <string>

#include "models/checkpoint.h"
#include "models/checkpoint_info.h"
#include "mova.h"
#include "runtime/error.h"
#include "runtime/log.h"

struct mova_model {
  mova::Checkpoint checkpoint;
};

namespace {

thread_local std::string t_last_error;

mova_status to_status(mova::ErrorKind kind) {
  switch (kind) {
    case mova::ErrorKind::kInvalidArgument:
      return MOVA_ERR_INVALID_ARGUMENT;
    case mova::ErrorKind::kIo:
      return MOVA_ERR_IO;
    case mova::ErrorKind::kFormat:
      return MOVA_ERR_FORMAT;
    case mova::ErrorKind::kShape:
      return MOVA_ERR_SHAPE;
    case mova::ErrorKind::kUnsupported:
      return MOVA_ERR_UNSUPPORTED;
    case mova::ErrorKind::kInternal:
      return MOVA_ERR_INTERNAL;
    case mova::ErrorKind::kAborted:
      return MOVA_ERR_ABORTED;
  }
  return MOVA_ERR_INTERNAL;
}

template <typename Fn>
mova_status guarded(Fn&& fn) {
  try {
    fn();
    t_last_error.clear();
    return MOVA_OK;
  } catch (const mova::Error& e) {
    t_last_error = e.what();
    return to_status(e.kind());
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
    MOVA_CHECK(out, mova::ErrorKind::kIo, "out of memory");
    std::memcpy(out, s.c_str(), s.size() + 1);
  });
  return out;
}

void mova_free_string(char* s) {
  std::free(s);
}

}  // extern "C"
