#include "media/mp4_reader.h"

#include <cstring>

#include "media/ffmpeg_util.h"

namespace mova {
namespace {

struct InputDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};

ff::CodecContextPtr open_decoder(AVStream* stream, const std::string& path) {
  const AVCodec* codec = avcodec_find_decoder(stream->codecpar->codec_id);
  MOVA_CHECK(codec, ErrorKind::kUnsupported, path, ": no decoder for stream ", stream->index);
  ff::CodecContextPtr c(avcodec_alloc_context3(codec));
  MOVA_CHECK(c, ErrorKind::kInternal, path, ": out of memory");
  ff::check(avcodec_parameters_to_context(c.get(), stream->codecpar), ErrorKind::kFormat,
            path + ": stream parameters");
  ff::check(avcodec_open2(c.get(), codec, nullptr), ErrorKind::kFormat, path + ": open decoder");
  return c;
}

class ClipDecoder {
 public:
  ClipDecoder(const std::string& path, DecodedClip& clip) : path_(path), clip_(clip) {}

  void video_frame(const AVFrame* f) {
    if (!sws_) {
      sws_.reset(sws_getContext(f->width, f->height, static_cast<AVPixelFormat>(f->format),
                                f->width, f->height, AV_PIX_FMT_RGB24,
                                SWS_BICUBIC | SWS_ACCURATE_RND, nullptr, nullptr, nullptr));
      MOVA_CHECK(sws_, ErrorKind::kInternal, path_, ": cannot set up colour conversion");
      const int space = f->colorspace == AVCOL_SPC_BT709 ? SWS_CS_ITU709 : SWS_CS_DEFAULT;
      sws_setColorspaceDetails(sws_.get(), sws_getCoefficients(space),
                               f->color_range == AVCOL_RANGE_JPEG ? 1 : 0,
                               sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
    }
    if (!rgb_ || rgb_->width != f->width || rgb_->height != f->height)
      rgb_ = ff::video_frame(AV_PIX_FMT_RGB24, f->width, f->height, path_);
    sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, rgb_->data, rgb_->linesize);
    RgbImage img(f->width, f->height);
    for (int y = 0; y < f->height; ++y)
      std::memcpy(img.row(y), rgb_->data[0] + static_cast<int64_t>(y) * rgb_->linesize[0],
                  static_cast<size_t>(f->width) * 3);
    clip_.frames.push_back(std::move(img));
  }

  void audio_frame(const AVFrame* f) {
    if (!swr_) {
      AVChannelLayout mono;
      av_channel_layout_default(&mono, 1);
      SwrContext* s = nullptr;
      AVChannelLayout in_layout = f->ch_layout;  // FFmpeg 5.1 takes it non-const
      ff::check(
          swr_alloc_set_opts2(&s, &mono, AV_SAMPLE_FMT_FLT, f->sample_rate, &in_layout,
                              static_cast<AVSampleFormat>(f->format), f->sample_rate, 0, nullptr),
          ErrorKind::kInternal, path_ + ": audio conversion");
      swr_.reset(s);
      ff::check(swr_init(s), ErrorKind::kInternal, path_ + ": audio conversion");
      clip_.sample_rate = f->sample_rate;
    }
    const size_t at = clip_.audio.size();
    clip_.audio.resize(at + static_cast<size_t>(f->nb_samples) + 64);
    uint8_t* out[1] = {reinterpret_cast<uint8_t*>(clip_.audio.data() + at)};
    const int n = swr_convert(swr_.get(), out, f->nb_samples + 64,
                              const_cast<const uint8_t**>(f->extended_data), f->nb_samples);
    ff::check(n, ErrorKind::kFormat, path_ + ": audio conversion");
    clip_.audio.resize(at + static_cast<size_t>(n));
  }

 private:
  std::string path_;
  DecodedClip& clip_;
  ff::SwsPtr sws_;
  ff::FramePtr rgb_;
  ff::SwrPtr swr_;
};

}  // namespace

DecodedClip read_clip(const std::string& path) {
  ff::route_logs();
  AVFormatContext* raw = nullptr;
  ff::check(avformat_open_input(&raw, path.c_str(), nullptr, nullptr), ErrorKind::kIo,
            path + ": cannot open");
  std::unique_ptr<AVFormatContext, InputDeleter> in(raw);
  ff::check(avformat_find_stream_info(in.get(), nullptr), ErrorKind::kFormat,
            path + ": cannot read stream info");
  const int vi = av_find_best_stream(in.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  const int ai = av_find_best_stream(in.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  DecodedClip clip;
  for (auto [key, field] : {std::pair{"title", &clip.title}, std::pair{"comment", &clip.comment}})
    if (const AVDictionaryEntry* e = av_dict_get(in->metadata, key, nullptr, 0)) *field = e->value;
  ff::CodecContextPtr vdec, adec;
  if (vi >= 0) {
    vdec = open_decoder(in->streams[vi], path);
    clip.fps = av_q2d(in->streams[vi]->avg_frame_rate);
    clip.video_codec = avcodec_get_name(in->streams[vi]->codecpar->codec_id);
  }
  if (ai >= 0) {
    adec = open_decoder(in->streams[ai], path);
    clip.audio_codec = avcodec_get_name(in->streams[ai]->codecpar->codec_id);
  }
  ClipDecoder sink(path, clip);
  ff::PacketPtr pkt(av_packet_alloc());
  ff::FramePtr frame(av_frame_alloc());
  auto drain = [&](AVCodecContext* dec, bool video) {
    for (;;) {
      const int rc = avcodec_receive_frame(dec, frame.get());
      if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return;
      ff::check(rc, ErrorKind::kFormat, path + ": decoding failed");
      if (video)
        sink.video_frame(frame.get());
      else
        sink.audio_frame(frame.get());
      av_frame_unref(frame.get());
    }
  };
  for (;;) {
    const int rc = av_read_frame(in.get(), pkt.get());
    if (rc == AVERROR_EOF) break;
    ff::check(rc, ErrorKind::kFormat, path + ": read failed");
    AVCodecContext* dec = pkt->stream_index == vi   ? vdec.get()
                          : pkt->stream_index == ai ? adec.get()
                                                    : nullptr;
    if (dec) {
      ff::check(avcodec_send_packet(dec, pkt.get()), ErrorKind::kFormat, path + ": bad packet");
      drain(dec, dec == vdec.get());
    }
    av_packet_unref(pkt.get());
  }
  if (vdec) {
    avcodec_send_packet(vdec.get(), nullptr);
    drain(vdec.get(), true);
  }
  if (adec) {
    avcodec_send_packet(adec.get(), nullptr);
    drain(adec.get(), false);
  }
  return clip;
}

}  // namespace mova
