#include "media/resize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "runtime/error.h"

namespace mova {
namespace {

// Pillow's src/libImaging/Resample.c, restated: constants and rounding are what make the
// result bit-identical.
constexpr int kPrecisionBits = 32 - 8 - 2;
constexpr double kBicubicSupport = 2.0;

double bicubic(double x) {
  constexpr double a = -0.5;
  x = std::fabs(x);
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0;
  if (x < 2.0) return (((x - 5.0) * x + 8.0) * x - 4.0) * a;
  return 0.0;
}

uint8_t clip8(int64_t v) {
  v >>= kPrecisionBits;
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// For each output position: the first source index, the tap count, and fixed-point weights.
struct Taps {
  int64_t ksize = 0;
  std::vector<int64_t> first, count;
  std::vector<int32_t> weights;  // out_size * ksize
};

Taps precompute(int64_t in_size, double in0, double in1, int64_t out_size) {
  const double scale = (in1 - in0) / static_cast<double>(out_size);
  const double filterscale = std::max(scale, 1.0);
  const double support = kBicubicSupport * filterscale;
  Taps t;
  t.ksize = static_cast<int64_t>(std::ceil(support)) * 2 + 1;
  t.first.resize(out_size);
  t.count.resize(out_size);
  t.weights.assign(static_cast<size_t>(out_size * t.ksize), 0);
  std::vector<double> k(static_cast<size_t>(t.ksize));
  for (int64_t xx = 0; xx < out_size; ++xx) {
    const double center = in0 + (static_cast<double>(xx) + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    // Truncation toward zero, as Pillow's C casts (not rounding).
    int64_t xmin =
        static_cast<int64_t>(center - support + 0.5);  // NOLINT(bugprone-incorrect-roundings)
    if (xmin < 0) xmin = 0;
    int64_t xmax =
        static_cast<int64_t>(center + support + 0.5);  // NOLINT(bugprone-incorrect-roundings)
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int64_t x = 0; x < xmax; ++x) {
      const double w = bicubic((static_cast<double>(x + xmin) - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int64_t x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      const double fixed = w * static_cast<double>(1 << kPrecisionBits);
      t.weights[xx * t.ksize + x] = static_cast<int32_t>(w < 0 ? -0.5 + fixed : 0.5 + fixed);
    }
    t.first[xx] = xmin;
    t.count[xx] = xmax;
  }
  return t;
}

}  // namespace

RgbImage resize_bicubic(const RgbImage& image, int64_t width, int64_t height, ResizeBox box) {
  MOVA_CHECK(image.width > 0 && image.height > 0, ErrorKind::kInvalidArgument,
             "resize: empty source image");
  MOVA_CHECK(width > 0 && height > 0, ErrorKind::kInvalidArgument, "resize: target size ", width,
             "x", height, " must be positive");
  if (box.x1 < 0) box.x1 = static_cast<double>(image.width);
  if (box.y1 < 0) box.y1 = static_cast<double>(image.height);
  MOVA_CHECK(box.x0 >= 0 && box.y0 >= 0 && box.x1 <= image.width && box.y1 <= image.height &&
                 box.x0 < box.x1 && box.y0 < box.y1,
             ErrorKind::kInvalidArgument, "resize: box outside the image");
  const bool whole = box.x0 == 0 && box.y0 == 0 && box.x1 == image.width && box.y1 == image.height;
  if (whole && width == image.width && height == image.height) return image;

  const bool horizontal = width != image.width || box.x0 != 0 || box.x1 != width;
  const bool vertical = height != image.height || box.y0 != 0 || box.y1 != height;
  const Taps th = precompute(image.width, box.x0, box.x1, width);
  Taps tv = precompute(image.height, box.y0, box.y1, height);
  // Only the source rows the vertical pass reads go through the horizontal pass.
  const int64_t row_first = tv.first[0];
  const int64_t row_last = tv.first[height - 1] + tv.count[height - 1];

  RgbImage src = image;
  if (horizontal) {
    for (auto& f : tv.first) f -= row_first;
    RgbImage tmp(width, row_last - row_first);
    for (int64_t y = 0; y < tmp.height; ++y) {
      const uint8_t* in = image.row(y + row_first);
      uint8_t* out = tmp.row(y);
      for (int64_t x = 0; x < width; ++x) {
        const int32_t* k = &th.weights[x * th.ksize];
        for (int c = 0; c < 3; ++c) {
          int64_t acc = int64_t{1} << (kPrecisionBits - 1);
          for (int64_t i = 0; i < th.count[x]; ++i)
            acc += static_cast<int64_t>(in[(th.first[x] + i) * 3 + c]) * k[i];
          out[x * 3 + c] = clip8(acc);
        }
      }
    }
    src = std::move(tmp);
  }
  if (!vertical) return src;
  RgbImage out(src.width, height);
  for (int64_t y = 0; y < height; ++y) {
    const int32_t* k = &tv.weights[y * tv.ksize];
    uint8_t* o = out.row(y);
    for (int64_t x = 0; x < src.width * 3; ++x) {
      int64_t acc = int64_t{1} << (kPrecisionBits - 1);
      for (int64_t i = 0; i < tv.count[y]; ++i)
        acc += static_cast<int64_t>(src.row(tv.first[y] + i)[x]) * k[i];
      o[x] = clip8(acc);
    }
  }
  return out;
}

RgbImage crop(const RgbImage& image, int64_t x0, int64_t y0, int64_t width, int64_t height) {
  MOVA_CHECK(x0 >= 0 && y0 >= 0 && width > 0 && height > 0 && x0 + width <= image.width &&
                 y0 + height <= image.height,
             ErrorKind::kInvalidArgument, "crop ", width, "x", height, "+", x0, "+", y0,
             " is outside the ", image.width, "x", image.height, " image");
  RgbImage out(width, height);
  for (int64_t y = 0; y < height; ++y)
    std::memcpy(out.row(y), image.row(y0 + y) + x0 * 3, static_cast<size_t>(width * 3));
  return out;
}

RgbImage crop_and_resize(const RgbImage& image, int64_t width, int64_t height) {
  MOVA_CHECK(width > 0 && height > 0, ErrorKind::kInvalidArgument, "crop_and_resize: target ",
             width, "x", height, " must be positive");
  // Upstream (mova/datasets/transforms/custom.py): centre-crop to the target aspect first,
  // sizes truncated and offsets floored in Python's float64 arithmetic, then one resize.
  const double ih = static_cast<double>(image.height), iw = static_cast<double>(image.width);
  RgbImage cropped;
  if (ih / iw < static_cast<double>(height) / static_cast<double>(width)) {  // wider: crop width
    const int64_t cw = static_cast<int64_t>(ih / static_cast<double>(height) * width);
    cropped = crop(image, (image.width - cw) / 2, 0, cw, image.height);
  } else {
    const int64_t ch = static_cast<int64_t>(iw / static_cast<double>(width) * height);
    cropped = crop(image, 0, (image.height - ch) / 2, image.width, ch);
  }
  return resize_bicubic(cropped, width, height);
}

Tensor image_to_tensor(const RgbImage& image) {
  const int64_t H = image.height, W = image.width;
  Tensor t = Tensor::empty({1, 3, H, W}, DType::kF32);
  float* p = t.data<float>();
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x)
      for (int64_t c = 0; c < 3; ++c) {
        const float v = static_cast<float>(image.row(y)[x * 3 + c]) / 255.0f;
        p[(c * H + y) * W + x] = 2.0f * v - 1.0f;
      }
  return t;
}

}  // namespace mova
