// The MP4 writer, checked by decoding what it wrote (in-process) and by ffprobe.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "io/atomic_file.h"
#include "media/mp4_reader.h"
#include "media/mp4_writer.h"
#include "media/wav_writer.h"
#include "test_util.h"

namespace mova {
namespace {

using test::TempDir;

// A moving gradient with a bright square: smooth and sharp content, different every frame.
std::vector<RgbImage> test_frames(int64_t n, int64_t w, int64_t h) {
  std::vector<RgbImage> frames;
  for (int64_t f = 0; f < n; ++f) {
    RgbImage img(w, h);
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        uint8_t* p = img.row(y) + x * 3;
        p[0] = static_cast<uint8_t>((x * 255) / w);
        p[1] = static_cast<uint8_t>((y * 255) / h);
        p[2] = static_cast<uint8_t>((f * 20) % 256);
        if (std::abs(x - (8 + 4 * f)) < 6 && std::abs(y - h / 2) < 6) p[0] = p[1] = p[2] = 250;
      }
    frames.push_back(std::move(img));
  }
  return frames;
}

double psnr(const RgbImage& a, const RgbImage& b) {
  double se = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    const double d = double(a.pixels[i]) - double(b.pixels[i]);
    se += d * d;
  }
  const double mse = se / static_cast<double>(a.pixels.size());
  return mse == 0 ? 99.0 : 10.0 * std::log10(255.0 * 255.0 / mse);
}

std::vector<float> tone(int64_t n, int rate, double hz) {
  std::vector<float> s(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    s[i] = static_cast<float>(0.5 * std::sin(2 * M_PI * hz * static_cast<double>(i) / rate));
  return s;
}

TEST(Mp4Writer, RoundTripKeepsFramesAudioAndTiming) {
  TempDir dir;
  const auto frames = test_frames(13, 64, 48);
  const int rate = 48000;
  // More audio than the video lasts: the writer trims it to 13 / 24 s.
  const auto audio = tone(40000, rate, 440.0);
  Mp4Options opt;
  opt.fps = 24;
  opt.title = "A ball bounces — twice, \"loudly\"";  // any UTF-8 and punctuation
  opt.comment = "mova.cpp: seed 7";
  write_mp4(dir.file("a.mp4"), frames, audio, rate, opt);

  const DecodedClip clip = read_clip(dir.file("a.mp4"));
  EXPECT_EQ(clip.title, opt.title);
  EXPECT_EQ(clip.comment, opt.comment);
  EXPECT_EQ(clip.video_codec, "h264");
  EXPECT_EQ(clip.audio_codec, "aac");
  EXPECT_NEAR(clip.fps, 24.0, 1e-9);
  ASSERT_EQ(clip.frames.size(), frames.size());
  // H.264 tolerance: crf 17 plus 4:2:0 chroma on a hard-edged square over colour gradients
  // measures 34.7-40 dB here.
  for (size_t i = 0; i < frames.size(); ++i)
    EXPECT_GT(psnr(clip.frames[i], frames[i]), 33.0) << "frame " << i;
  EXPECT_LT(psnr(clip.frames[1], frames[2]), 30.0) << "frames must not be shifted";
  EXPECT_EQ(clip.sample_rate, rate);
  const int64_t want = audio_samples_for_frames(13, 24.0, rate);  // 26000
  EXPECT_EQ(want, 26000);
  // AAC works in 1024-sample frames; the decoder may return up to one frame of padding.
  EXPECT_GE(static_cast<int64_t>(clip.audio.size()), want);
  EXPECT_LE(static_cast<int64_t>(clip.audio.size()), want + 1024);
  // The tone survives: correlation with the input over the middle of the clip.
  double dot = 0, na = 0, nb = 0;
  for (int64_t i = 4000; i < 20000; ++i) {
    dot += clip.audio[i] * audio[i];
    na += clip.audio[i] * clip.audio[i];
    nb += audio[i] * audio[i];
  }
  EXPECT_GT(dot / std::sqrt(na * nb), 0.99);
}

TEST(Mp4Writer, UpstreamAudioLengthRule) {
  EXPECT_EQ(audio_samples_for_frames(193, 24.0, 48000), 386000);
  EXPECT_EQ(audio_samples_for_frames(121, 24.0, 48000), 242000);
  EXPECT_EQ(audio_samples_for_frames(1, 24.0, 48000), 2000);
  EXPECT_EQ(audio_samples_for_frames(49, 30.0, 48000), 78400);
  EXPECT_EQ(audio_samples_for_frames(5, 23.976, 48000), 10010);
  // Upstream's Python truncates the double quotient as it is (values from python3).
  EXPECT_EQ(audio_samples_for_frames(1, 24000.0 / 1001, 48000), 2001);
  EXPECT_EQ(audio_samples_for_frames(13, 24000.0 / 1001, 48000), 26025);
  EXPECT_EQ(audio_samples_for_frames(21, 24000.0 / 1001, 16000), 14013);
}

TEST(Mp4Writer, FailureLeavesNoFile) {
  TempDir dir;
  const auto frames = test_frames(3, 32, 32);
  // Odd frame size: rejected before anything is written.
  const auto odd = test_frames(3, 31, 32);
  test::expect_error([&] { write_mp4(dir.file("odd.mp4"), odd, {}, 48000, {}); },
                     {"odd.mp4", "even"});
  test::expect_error([&] { write_mp4(dir.file("none/x.mp4"), frames, {}, 48000, {}); },
                     {"none/x.mp4"});
  for (const auto& e : std::filesystem::directory_iterator(dir.str()))
    ADD_FAILURE() << "left behind: " << e.path();
}

TEST(Mp4Writer, SilentClipHasOnlyVideo) {
  TempDir dir;
  write_mp4(dir.file("s.mp4"), test_frames(5, 32, 32), {}, 48000, {});
  const DecodedClip clip = read_clip(dir.file("s.mp4"));
  EXPECT_EQ(clip.frames.size(), 5u);
  EXPECT_TRUE(clip.audio_codec.empty());
  EXPECT_TRUE(clip.title.empty());  // no tags unless asked for
  EXPECT_TRUE(clip.comment.empty());
}

TEST(WavWriter, WritesFloatWav) {
  TempDir dir;
  write_wav(dir.file("a.wav"), {0.5f, -0.25f, 1.0f}, 48000);
  const std::string b = read_text_file(dir.file("a.wav"));
  ASSERT_EQ(b.size(), 58u + 12u);
  EXPECT_EQ(b.substr(0, 4), "RIFF");
  EXPECT_EQ(b.substr(8, 4), "WAVE");
  float v[3];
  std::memcpy(v, b.data() + 58, 12);
  EXPECT_EQ(v[0], 0.5f);
  EXPECT_EQ(v[1], -0.25f);
  // ffmpeg reads it back as 48 kHz mono float.
  const DecodedClip clip = read_clip(dir.file("a.wav"));
  EXPECT_EQ(clip.sample_rate, 48000);
  ASSERT_EQ(clip.audio.size(), 3u);
  EXPECT_EQ(clip.audio[2], 1.0f);
}

}  // namespace
}  // namespace mova
