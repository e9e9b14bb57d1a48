/*
 * mova.h: the public C API of mova.cpp.
 *
 * Usage (grows with the engine; generation lands with `mova generate`):
 *
 *   mova_model* model = NULL;
 *   if (mova_model_open("MOVA-360p", &model) != MOVA_OK) {
 *     fprintf(stderr, "%s\n", mova_last_error());
 *     return 1;
 *   }
 *   char* info = mova_model_info_json(model);   // components, sizes, configs
 *   puts(info);
 *   mova_free_string(info);
 *   mova_model_close(model);
 *
 * Thread safety: a mova_model may be used from one thread at a time; distinct models are
 * independent. mova_last_error() is per thread. The log callback may be called from any
 * thread and must be thread-safe.
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

#ifdef __cplusplus
}
#endif

#endif /* MOVA_H */
