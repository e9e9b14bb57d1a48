// The index arithmetic of the convolution lowering (conv_lowering.cu), free of CUDA headers so
// the CPU test suite checks it against the CPU convolutions on machines without a GPU.
#pragma once

#include <cstdint>

#if defined(__CUDACC__)
#define MOVA_HOST_DEVICE __host__ __device__
#else
#define MOVA_HOST_DEVICE
#endif

namespace mova::cuda {

// x [C_in, T, H, W] contiguous F32; a kernel of kt × kh × kw taps, output [To, Ho, Wo].
struct Im2Col {
  const float* x = nullptr;
  int64_t c_in = 0, t = 1, h = 1, w = 1;
  int64_t kt = 1, kh = 1, kw = 1;
  int64_t stride_t = 1, stride_h = 1, stride_w = 1;
  int64_t pad_t = 0, pad_h = 0, pad_w = 0;  // front / top / left (the far sides follow)
  int64_t dilation_w = 1;                   // conv1d's dilation (its length is the w axis)
  int64_t out_t = 1, out_h = 1, out_w = 1;

  // The device pointer this struct carries into a kernel; the CUDA emulator
  // (tests/cuda_emulator) checks it as it checks a kernel's plain pointer arguments.
  template <class F>
  void for_each_pointer(F&& f) const {
    f(x);
  }
};

// Where output position `pos` (in (t, h, w) order) has its window's first tap in the input
// (it may lie in the padding).
struct Im2ColWindow {
  int64_t t = 0, h = 0, w = 0;
};

MOVA_HOST_DEVICE inline Im2ColWindow im2col_window(const Im2Col& a, int64_t pos) {
  const int64_t ow = pos % a.out_w, oh = pos / a.out_w % a.out_h, ot = pos / (a.out_w * a.out_h);
  return {ot * a.stride_t - a.pad_t, oh * a.stride_h - a.pad_h, ow * a.stride_w - a.pad_w};
}

// The element of x under tap (ta, tb, tc) of input channel ci in a window, or -1 where the tap
// leaves the input (a zero). Column row ((ci·kt + ta)·kh + tb)·kw + tc (weight order) holds it.
MOVA_HOST_DEVICE inline int64_t im2col_tap_source(const Im2Col& a, const Im2ColWindow& win,
                                                  int64_t ci, int64_t ta, int64_t tb, int64_t tc) {
  const int64_t ti = win.t + ta, hi = win.h + tb, wi = win.w + tc * a.dilation_w;
  if (ti < 0 || ti >= a.t || hi < 0 || hi >= a.h || wi < 0 || wi >= a.w) return -1;
  return ((ci * a.t + ti) * a.h + hi) * a.w + wi;
}

// conv_transpose1d's gather: cols [C_out·K, n] (row co·K + k) holds the taps of input
// positions [first, first + n); output o of channel co sums the taps with
// o = pos·stride − padding + k·dilation.
struct TransposedGather {
  const float* cols = nullptr;
  float* out = nullptr;
  int64_t c_out = 0, k = 0, out_len = 0;
  int64_t stride = 1, padding = 0, dilation = 1;

  // The device pointers this struct carries into a kernel; the CUDA emulator
  // (tests/cuda_emulator) checks each as it checks a kernel's plain pointer arguments.
  template <class F>
  void for_each_pointer(F&& f) const {
    f(cols);
    f(out);
  }
};

MOVA_HOST_DEVICE inline float transposed_gather_sum(const TransposedGather& a, int64_t first,
                                                    int64_t n, int64_t co, int64_t o) {
  float sum = 0.0f;
  for (int64_t k = 0; k < a.k; ++k) {
    const int64_t num = o + a.padding - k * a.dilation;
    if (num < 0 || num % a.stride != 0) continue;
    const int64_t pos = num / a.stride;
    if (pos < first || pos >= first + n) continue;
    sum += a.cols[(co * a.k + k) * n + (pos - first)];
  }
  return sum;
}

// The output range [begin, end) that input positions [first, first + n) reach.
MOVA_HOST_DEVICE inline void transposed_gather_range(const TransposedGather& a, int64_t first,
                                                     int64_t n, int64_t* begin, int64_t* end) {
  const int64_t b = first * a.stride - a.padding;
  const int64_t e = (first + n - 1) * a.stride - a.padding + (a.k - 1) * a.dilation + 1;
  *begin = b < 0 ? 0 : b;
  *end = e > a.out_len ? a.out_len : e;
}

}  // namespace mova::cuda
