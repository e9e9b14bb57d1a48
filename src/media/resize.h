// Image resampling that reproduces PIL bit for bit, because upstream prepares the first frame
// with PIL and a one-level difference in a pixel changes the image latent.
#pragma once

#include "media/image.h"
#include "runtime/tensor.h"

namespace mova {

// A source rectangle in pixels (PIL's `box`); the default covers the whole image.
struct ResizeBox {
  double x0 = 0, y0 = 0, x1 = -1, y1 = -1;  // x1/y1 < 0: the image's width/height
};

// PIL Image.resize(size, Image.BICUBIC, box): separable bicubic (a = -0.5) whose support
// widens by the scale factor on downscale (so it antialiases), 22-bit fixed-point weights,
// horizontal pass first with an 8-bit intermediate.
RgbImage resize_bicubic(const RgbImage& image, int64_t width, int64_t height, ResizeBox box = {});

// Upstream's crop_and_resize (docs/upstream/generate.md §1.3): centre-crop to the target
// aspect ratio, then resize_bicubic to exactly width x height.
RgbImage crop_and_resize(const RgbImage& image, int64_t width, int64_t height);

// The width x height rectangle at (x0, y0).
RgbImage crop(const RgbImage& image, int64_t x0, int64_t y0, int64_t width, int64_t height);

// RGB8 -> [1, 3, H, W] float32 in [-1, 1] (v / 255 · 2 − 1, as diffusers' image processor).
Tensor image_to_tensor(const RgbImage& image);

}  // namespace mova
