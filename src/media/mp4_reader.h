// Decodes an MP4 (or any container FFmpeg reads) back into RGB frames and mono float PCM.
// Used by tests to check what `mova generate` wrote, and by the sync meter.
#pragma once

#include <string>
#include <vector>

#include "media/image.h"

namespace mova {

struct DecodedClip {
  std::vector<RgbImage> frames;
  double fps = 0;
  std::vector<float> audio;  // mono (channels averaged), float
  int sample_rate = 0;
  std::string video_codec, audio_codec;
  std::string title, comment;  // container tags, empty when absent
};

DecodedClip read_clip(const std::string& path);

}  // namespace mova
