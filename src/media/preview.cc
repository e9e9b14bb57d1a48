#include "media/preview.h"

#include <algorithm>
#include <cmath>
#include <complex>

#include "media/resize.h"
#include "runtime/error.h"

namespace mova {
namespace {

void fill(RgbImage& img, int64_t x, int64_t y, uint8_t r, uint8_t g, uint8_t b) {
  uint8_t* p = img.row(y) + x * 3;
  p[0] = r;
  p[1] = g;
  p[2] = b;
}

// In-place iterative radix-2 FFT; n is a power of two.
void fft(std::vector<std::complex<double>>& a) {
  const size_t n = a.size();
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(a[i], a[j]);
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    const double ang = -2.0 * M_PI / static_cast<double>(len);
    const std::complex<double> step(std::cos(ang), std::sin(ang));
    for (size_t i = 0; i < n; i += len) {
      std::complex<double> w(1.0);
      for (size_t k = 0; k < len / 2; ++k) {
        const auto u = a[i + k], v = a[i + k + len / 2] * w;
        a[i + k] = u + v;
        a[i + k + len / 2] = u - v;
        w *= step;
      }
    }
  }
}

// Black -> purple -> orange -> pale yellow, for t in [0, 1].
void heat(double t, uint8_t* rgb) {
  t = std::clamp(t, 0.0, 1.0);
  const double r = std::clamp(1.5 * t, 0.0, 1.0);
  const double g = std::clamp(2.0 * t - 0.8, 0.0, 1.0);
  const double b = std::clamp(t < 0.4 ? 1.5 * t : 1.8 - 3.0 * t + 2.4 * t * t, 0.0, 1.0);
  rgb[0] = static_cast<uint8_t>(255 * r);
  rgb[1] = static_cast<uint8_t>(255 * g);
  rgb[2] = static_cast<uint8_t>(255 * b);
}

}  // namespace

RgbImage contact_sheet(const std::vector<RgbImage>& frames, int count, int columns,
                       int thumb_width) {
  MOVA_CHECK(!frames.empty() && count > 0 && columns > 0 && thumb_width > 0,
             ErrorKind::kInvalidArgument, "contact sheet: no frames");
  count = std::min<int>(count, static_cast<int>(frames.size()));
  columns = std::min(columns, count);
  const int rows = (count + columns - 1) / columns;
  const int64_t tw = std::min<int64_t>(thumb_width, frames[0].width);
  const int64_t th = std::max<int64_t>(1, frames[0].height * tw / frames[0].width);
  constexpr int64_t kGap = 4;
  RgbImage sheet(columns * tw + (columns + 1) * kGap, rows * th + (rows + 1) * kGap);
  std::fill(sheet.pixels.begin(), sheet.pixels.end(), 24);
  for (int i = 0; i < count; ++i) {
    const size_t at = count == 1 ? 0 : i * (frames.size() - 1) / (count - 1);
    const RgbImage thumb = resize_bicubic(frames[at], tw, th);
    const int64_t x0 = kGap + (i % columns) * (tw + kGap), y0 = kGap + (i / columns) * (th + kGap);
    for (int64_t y = 0; y < th; ++y) std::copy_n(thumb.row(y), tw * 3, sheet.row(y0 + y) + x0 * 3);
  }
  return sheet;
}

RgbImage audio_picture(const std::vector<float>& audio, int sample_rate, int width, int height) {
  MOVA_CHECK(width > 0 && height >= 3 && sample_rate > 0, ErrorKind::kInvalidArgument,
             "audio picture: bad size");
  RgbImage img(width, height);
  std::fill(img.pixels.begin(), img.pixels.end(), 16);
  const int64_t wave_h = height / 3, spec_h = height - wave_h;
  const int64_t n = static_cast<int64_t>(audio.size());
  if (n == 0) return img;
  for (int64_t x = 0; x < width; ++x) {  // waveform: min..max of each column's samples
    const int64_t a = x * n / width, b = std::max(a + 1, (x + 1) * n / width);
    float lo = 1, hi = -1;
    for (int64_t i = a; i < b; ++i) {
      lo = std::min(lo, audio[i]);
      hi = std::max(hi, audio[i]);
    }
    const auto to_y = [&](float v) {
      return std::clamp<int64_t>(static_cast<int64_t>((1.0 - std::clamp(v, -1.0f, 1.0f)) * 0.5 *
                                                      static_cast<double>(wave_h - 1)),
                                 0, wave_h - 1);
    };
    for (int64_t y = to_y(hi); y <= to_y(lo); ++y) fill(img, x, y, 120, 200, 255);
  }
  constexpr int kWindow = 1024;
  std::vector<std::complex<double>> buf(kWindow);
  std::vector<std::vector<double>> db(width, std::vector<double>(kWindow / 2));
  double peak = -300;
  for (int64_t x = 0; x < width; ++x) {
    const int64_t centre = (2 * x + 1) * n / (2 * width);
    for (int k = 0; k < kWindow; ++k) {
      const int64_t i = centre - kWindow / 2 + k;
      const double hann = 0.5 - 0.5 * std::cos(2.0 * M_PI * k / (kWindow - 1));
      buf[k] = (i >= 0 && i < n) ? hann * audio[i] : 0.0;
    }
    fft(buf);
    for (int k = 0; k < kWindow / 2; ++k) {
      db[x][k] = 20.0 * std::log10(std::abs(buf[k]) + 1e-9);
      peak = std::max(peak, db[x][k]);
    }
  }
  constexpr double kRangeDb = 80.0;
  for (int64_t x = 0; x < width; ++x)
    for (int64_t y = 0; y < spec_h; ++y) {
      const int bin = static_cast<int>((spec_h - 1 - y) * (kWindow / 2) / spec_h);
      heat((db[x][bin] - (peak - kRangeDb)) / kRangeDb, img.row(wave_h + y) + x * 3);
    }
  return img;
}

}  // namespace mova
