#include "media/ffmpeg_util.h"

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "runtime/log.h"

namespace mova::ff {

std::string error_string(int code) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, buf, sizeof buf);
  return buf;
}

namespace {

void forward_log(void*, int level, const char* format, va_list args) {
  if (level > AV_LOG_VERBOSE) return;
  const LogLevel ours = level <= AV_LOG_ERROR ? LogLevel::kWarn : LogLevel::kDebug;
  if (ours < log_level()) return;
  char line[1024];
  std::vsnprintf(line, sizeof line, format, args);
  std::string text(line);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty()) log_message(ours, "ffmpeg: " + text);
}

}  // namespace

FramePtr video_frame(AVPixelFormat format, int width, int height, const std::string& what) {
  FramePtr f(av_frame_alloc());
  MOVA_CHECK(f, ErrorKind::kInternal, what, ": out of memory");
  f->format = format;
  f->width = width;
  f->height = height;
  check(av_frame_get_buffer(f.get(), 0), ErrorKind::kInternal, what + ": frame buffer");
  for (AVBufferRef* b : f->buf)
    if (b) std::memset(b->data, 0, b->size);
  return f;
}

void route_logs() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(forward_log); });
}

}  // namespace mova::ff
