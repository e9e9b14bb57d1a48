// Quick-look images written beside a generated clip (`mova generate --preview`): a contact
// sheet of frames, and the waveform above a log-magnitude spectrogram of the audio, drawn on
// the same time axis so a reader can see whether sounds line up with what the frames show.
#pragma once

#include <vector>

#include "media/image.h"

namespace mova {

// Up to `count` frames evenly spaced over the clip, in a grid `columns` wide, each scaled to
// `thumb_width` (aspect kept).
RgbImage contact_sheet(const std::vector<RgbImage>& frames, int count = 12, int columns = 4,
                       int thumb_width = 240);

// width x height image: top third waveform, bottom two thirds spectrogram (0..sample_rate/2,
// 1024-point Hann windows).
RgbImage audio_picture(const std::vector<float>& audio, int sample_rate, int width = 960,
                       int height = 360);

}  // namespace mova
