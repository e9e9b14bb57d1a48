// Writes the generated clip as an MP4 with FFmpeg's libraries, in-process: H.264 (libx264,
// yuv420p, BT.709 limited range) plus AAC-LC mono, `faststart` so players can start before the
// whole file arrives. The file appears under its final name only when complete.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "media/image.h"

namespace mova {

struct Mp4Options {
  double fps = 24.0;
  int crf = 17;                    // x264 constant quality; 17 is visually lossless
  std::string preset = "medium";   // x264 speed/size trade-off
  int64_t audio_bitrate = 192000;  // bits per second
  // Container tags (players show the title; `ffprobe` lists both); empty: not written.
  std::string title;    // the prompt, for a generated clip
  std::string comment;  // how it was made (seed, steps, guidance, model)
};

// frames: equal-sized RGB images (even width and height). audio: mono float PCM in [-1, 1] at
// sample_rate, trimmed here to the video's duration (frames / fps); may be empty for a silent
// clip. Throws mova::Error naming `path`; on failure no file is left at `path`.
void write_mp4(const std::string& path, const std::vector<RgbImage>& frames,
               const std::vector<float>& audio, int sample_rate, const Mp4Options& options);

// The number of audio samples that cover `frames` video frames at `fps` (what write_mp4 keeps).
int64_t audio_samples_for_frames(int64_t frames, double fps, int sample_rate);

}  // namespace mova
