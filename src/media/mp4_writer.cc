#include "media/mp4_writer.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "media/ffmpeg_util.h"
#include "runtime/log.h"

namespace mova {
namespace {

// One encoder feeding one stream of the output.
struct Track {
  AVStream* stream = nullptr;
  ff::CodecContextPtr codec;
};

class Mp4Muxer {
 public:
  Mp4Muxer(const std::string& path, const std::string& temp_path) : path_(path), temp_(temp_path) {
    ff::check(avformat_alloc_output_context2(&out_, nullptr, "mp4", temp_.c_str()),
              ErrorKind::kInternal, path_ + ": cannot set up the MP4 muxer");
  }
  ~Mp4Muxer() {
    if (out_ && out_->pb) avio_closep(&out_->pb);
    avformat_free_context(out_);
  }

  Track add_video(int64_t width, int64_t height, AVRational fps, const Mp4Options& opt) {
    const AVCodec* codec = avcodec_find_encoder_by_name("libx264");
    MOVA_CHECK(codec, ErrorKind::kUnsupported, path_,
               ": this FFmpeg build has no libx264 encoder (H.264 output needs it)");
    Track t = new_track(codec);
    AVCodecContext* c = t.codec.get();
    c->width = static_cast<int>(width);
    c->height = static_cast<int>(height);
    c->pix_fmt = AV_PIX_FMT_YUV420P;
    c->time_base = av_inv_q(fps);
    c->framerate = fps;
    c->color_primaries = AVCOL_PRI_BT709;
    c->color_trc = AVCOL_TRC_BT709;
    c->colorspace = AVCOL_SPC_BT709;
    c->color_range = AVCOL_RANGE_MPEG;
    AVDictionary* o = nullptr;
    av_dict_set(&o, "preset", opt.preset.c_str(), 0);
    av_dict_set(&o, "crf", std::to_string(opt.crf).c_str(), 0);
    // x264's macroblock-tree rate control reads uninitialised memory on some frame sizes
    // (64x64, 192x192, 320x176 measured with Debian's libx264 and the ffmpeg CLI alike): the
    // same frames then encode differently from run to run (MALLOC_PERTURB_ changes the
    // bitstream). Without it the file is a function of the frames; it costs ~20-30% in size
    // at this CRF.
    av_dict_set(&o, "x264-params", "mbtree=0", 0);
    open_track(t, codec, &o, "H.264 encoder");
    t.stream->avg_frame_rate = fps;
    return t;
  }

  Track add_audio(int sample_rate, int64_t bitrate) {
    const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_AAC);
    MOVA_CHECK(codec, ErrorKind::kUnsupported, path_, ": this FFmpeg build has no AAC encoder");
    Track t = new_track(codec);
    AVCodecContext* c = t.codec.get();
    c->sample_fmt = AV_SAMPLE_FMT_FLTP;
    c->sample_rate = sample_rate;
    av_channel_layout_default(&c->ch_layout, 1);
    c->bit_rate = bitrate;
    c->time_base = AVRational{1, sample_rate};
    AVDictionary* o = nullptr;
    open_track(t, codec, &o, "AAC encoder");
    return t;
  }

  void set_tag(const char* key, const std::string& value) {
    if (!value.empty()) av_dict_set(&out_->metadata, key, value.c_str(), 0);
  }

  void begin() {
    ff::check(avio_open(&out_->pb, temp_.c_str(), AVIO_FLAG_WRITE), ErrorKind::kIo,
              path_ + ": cannot write");
    AVDictionary* o = nullptr;
    av_dict_set(&o, "movflags", "+faststart", 0);
    const int rc = avformat_write_header(out_, &o);
    av_dict_free(&o);
    ff::check(rc, ErrorKind::kIo, path_ + ": cannot write the MP4 header");
  }

  // Sends one frame (nullptr: flush) and writes every packet the encoder returns.
  void encode(Track& t, AVFrame* frame) {
    ff::check(avcodec_send_frame(t.codec.get(), frame), ErrorKind::kInternal,
              path_ + ": encoder rejected a frame");
    for (;;) {
      const int rc = avcodec_receive_packet(t.codec.get(), packet_.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      ff::check(rc, ErrorKind::kInternal, path_ + ": encoding failed");
      av_packet_rescale_ts(packet_.get(), t.codec->time_base, t.stream->time_base);
      packet_->stream_index = t.stream->index;
      ff::check(av_interleaved_write_frame(out_, packet_.get()), ErrorKind::kIo,
                path_ + ": write failed");
    }
  }

  void finish() {
    ff::check(av_write_trailer(out_), ErrorKind::kIo, path_ + ": cannot finish the MP4");
    ff::check(avio_closep(&out_->pb), ErrorKind::kIo, path_ + ": write failed");
  }

 private:
  Track new_track(const AVCodec* codec) {
    Track t;
    t.stream = avformat_new_stream(out_, nullptr);
    t.codec.reset(avcodec_alloc_context3(codec));
    MOVA_CHECK(t.stream && t.codec, ErrorKind::kInternal, path_, ": out of memory");
    if (out_->oformat->flags & AVFMT_GLOBALHEADER) t.codec->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    return t;
  }

  void open_track(Track& t, const AVCodec* codec, AVDictionary** options, const char* what) {
    const int rc = avcodec_open2(t.codec.get(), codec, options);
    av_dict_free(options);
    ff::check(rc, ErrorKind::kInternal, path_ + ": cannot open the " + what);
    ff::check(avcodec_parameters_from_context(t.stream->codecpar, t.codec.get()),
              ErrorKind::kInternal, path_ + ": stream parameters");
    t.stream->time_base = t.codec->time_base;
  }

  std::string path_, temp_;
  AVFormatContext* out_ = nullptr;
  ff::PacketPtr packet_{av_packet_alloc()};
};

// Removes the temporary file unless the write completed.
struct TempFile {
  std::string path;
  bool keep = false;
  ~TempFile() {
    if (!keep) std::remove(path.c_str());
  }
};

}  // namespace

int64_t audio_samples_for_frames(int64_t frames, double fps, int sample_rate) {
  // Upstream's int(sample_rate * frames / fps) in Python: the product is an exact integer, the
  // division one correctly rounded double, truncated. No epsilon: where the quotient lands just
  // below an integer (1 frame at 24000/1001 fps: 2001.9999999999998) upstream keeps one sample
  // less, and so does this.
  return static_cast<int64_t>(
      std::floor(static_cast<double>(sample_rate) * static_cast<double>(frames) / fps));
}

void write_mp4(const std::string& path, const std::vector<RgbImage>& frames,
               const std::vector<float>& audio, int sample_rate, const Mp4Options& options) {
  MOVA_CHECK(!frames.empty(), ErrorKind::kInvalidArgument, path, ": no video frames to write");
  const int64_t W = frames[0].width, H = frames[0].height;
  MOVA_CHECK(W > 0 && H > 0 && W % 2 == 0 && H % 2 == 0, ErrorKind::kInvalidArgument, path,
             ": frame size ", W, "x", H, " must be even for yuv420p");
  for (const auto& f : frames)
    MOVA_CHECK(f.width == W && f.height == H, ErrorKind::kInvalidArgument, path,
               ": frames differ in size");
  MOVA_CHECK(options.fps > 0 && std::isfinite(options.fps), ErrorKind::kInvalidArgument, path,
             ": fps must be positive");
  MOVA_CHECK(audio.empty() || sample_rate > 0, ErrorKind::kInvalidArgument, path,
             ": sample rate must be positive");
  ff::route_logs();

  TempFile temp{path + ".tmp." + std::to_string(::getpid()) + ".mp4"};
  const AVRational fps = av_d2q(options.fps, 100000);
  const int64_t keep_samples = std::min<int64_t>(
      static_cast<int64_t>(audio.size()),
      audio.empty() ? 0
                    : audio_samples_for_frames(static_cast<int64_t>(frames.size()), options.fps,
                                               sample_rate));
  {
    Mp4Muxer mux(path, temp.path);
    Track video = mux.add_video(W, H, fps, options);
    Track sound;
    if (keep_samples > 0) sound = mux.add_audio(sample_rate, options.audio_bitrate);
    mux.set_tag("title", options.title);
    mux.set_tag("comment", options.comment);
    mux.begin();

    ff::SwsPtr sws(sws_getContext(static_cast<int>(W), static_cast<int>(H), AV_PIX_FMT_RGB24,
                                  static_cast<int>(W), static_cast<int>(H), AV_PIX_FMT_YUV420P,
                                  SWS_BICUBIC | SWS_ACCURATE_RND, nullptr, nullptr, nullptr));
    MOVA_CHECK(sws, ErrorKind::kInternal, path, ": cannot set up colour conversion");
    sws_setColorspaceDetails(sws.get(), sws_getCoefficients(SWS_CS_DEFAULT), 1,
                             sws_getCoefficients(SWS_CS_ITU709), 0, 0, 1 << 16, 1 << 16);
    const ff::FramePtr yuv =
        ff::video_frame(AV_PIX_FMT_YUV420P, static_cast<int>(W), static_cast<int>(H), path);
    const ff::FramePtr rgb =
        ff::video_frame(AV_PIX_FMT_RGB24, static_cast<int>(W), static_cast<int>(H), path);

    // The AAC encoder takes whole frames of frame_size samples; only the very last may be
    // shorter.
    const int64_t audio_frame =
        sound.codec && sound.codec->frame_size > 0 ? sound.codec->frame_size : 1024;
    ff::FramePtr pcm;
    int64_t sent_samples = 0;
    if (sound.codec) {
      pcm.reset(av_frame_alloc());
      pcm->format = AV_SAMPLE_FMT_FLTP;
      pcm->sample_rate = sample_rate;
      av_channel_layout_default(&pcm->ch_layout, 1);
      pcm->nb_samples = static_cast<int>(audio_frame);
      ff::check(av_frame_get_buffer(pcm.get(), 0), ErrorKind::kInternal, path + ": audio buffer");
    }
    // Audio is interleaved with video by time so the muxer never buffers a whole track.
    auto send_audio_until = [&](int64_t until, bool last) {
      until = std::min(until, keep_samples);
      while (sound.codec && sent_samples < until) {
        const int64_t n = std::min(audio_frame, until - sent_samples);
        if (n < audio_frame && !last) return;
        ff::check(av_frame_make_writable(pcm.get()), ErrorKind::kInternal, path + ": audio buffer");
        pcm->nb_samples = static_cast<int>(n);
        float* dst = reinterpret_cast<float*>(pcm->data[0]);
        for (int64_t i = 0; i < n; ++i) dst[i] = std::clamp(audio[sent_samples + i], -1.0f, 1.0f);
        pcm->pts = sent_samples;
        mux.encode(sound, pcm.get());
        sent_samples += n;
      }
    };

    for (size_t i = 0; i < frames.size(); ++i) {
      ff::check(av_frame_make_writable(yuv.get()), ErrorKind::kInternal, path + ": frame buffer");
      for (int64_t y = 0; y < H; ++y)
        std::memcpy(rgb->data[0] + y * rgb->linesize[0], frames[i].pixels.data() + y * W * 3,
                    static_cast<size_t>(W * 3));
      sws_scale(sws.get(), rgb->data, rgb->linesize, 0, static_cast<int>(H), yuv->data,
                yuv->linesize);
      yuv->pts = static_cast<int64_t>(i);
      mux.encode(video, yuv.get());
      send_audio_until(
          audio_samples_for_frames(static_cast<int64_t>(i + 1), options.fps, sample_rate), false);
    }
    send_audio_until(keep_samples, true);
    mux.encode(video, nullptr);
    if (sound.codec) mux.encode(sound, nullptr);
    mux.finish();
  }
  MOVA_CHECK(std::rename(temp.path.c_str(), path.c_str()) == 0, ErrorKind::kIo, path,
             ": cannot rename temporary file into place: ", std::strerror(errno));
  temp.keep = true;
}

}  // namespace mova
