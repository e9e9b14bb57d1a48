// Small RAII and error helpers around FFmpeg's C API, shared by the MP4 writer and reader.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/frame.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include <memory>
#include <string>

#include "runtime/error.h"

namespace mova::ff {

std::string error_string(int code);

// Throws Error(kind) naming `what` when an FFmpeg call returned a negative code.
inline void check(int code, ErrorKind kind, const std::string& what) {
  if (code < 0) fail(kind, what, ": ", error_string(code));
}

// Routes FFmpeg's own log lines into mova's log (errors as warnings, the rest as debug), once.
void route_logs();

struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
struct SwrDeleter {
  void operator()(SwrContext* s) const { swr_free(&s); }
};

using CodecContextPtr = std::unique_ptr<AVCodecContext, CodecContextDeleter>;
using FramePtr = std::unique_ptr<AVFrame, FrameDeleter>;
using PacketPtr = std::unique_ptr<AVPacket, PacketDeleter>;
using SwsPtr = std::unique_ptr<SwsContext, SwsDeleter>;
using SwrPtr = std::unique_ptr<SwrContext, SwrDeleter>;

// A zero-filled video frame of FFmpeg's own padded layout. swscale's SIMD code loads and stores
// past the end of a row, so conversions read from and write to these, never to exact-size
// pixel buffers (that overran the heap and made encoded clips depend on its contents).
FramePtr video_frame(AVPixelFormat format, int width, int height, const std::string& what);

}  // namespace mova::ff
