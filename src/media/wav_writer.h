// Writes mono float PCM as a 32-bit IEEE-float WAV (lossless: what the audio VAE produced).
#pragma once

#include <string>
#include <vector>

namespace mova {

void write_wav(const std::string& path, const std::vector<float>& samples, int sample_rate);

}  // namespace mova
