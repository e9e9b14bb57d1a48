// Helpers for the CUDA parity tests: skip without a GPU, and move vectors to and from it.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <vector>

#include "runtime/allocator.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/device_memory.h"
#include "runtime/dtype.h"

// Every CUDA test starts with this: on a machine without a GPU (CI, the dev box) the test is
// reported as skipped, with the reason, instead of failing or passing vacuously.
#define MOVA_REQUIRE_GPU()                                                              \
  do {                                                                                  \
    if (::mova::cuda::device_count() == 0)                                              \
      GTEST_SKIP() << "no CUDA device or driver on this machine (scripts/gpu-check.sh " \
                      "runs these on a GPU machine)";                                   \
  } while (0)

namespace mova::test {

// Rounds `v` to BF16 in place (so the CPU reference sees the GPU's inputs) and returns the bits.
inline std::vector<uint16_t> round_to_bf16(std::vector<float>& v) {
  std::vector<uint16_t> bits(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    bits[i] = f32_to_bf16(v[i]);
    v[i] = bf16_to_f32(bits[i]);
  }
  return bits;
}

// Cosine similarity: the BF16 paths' second figure beside max-rel error.
inline double cosine(const std::vector<float>& x, const std::vector<float>& y) {
  double xy = 0, xx = 0, yy = 0;
  for (size_t i = 0; i < x.size() && i < y.size(); ++i)
    xy += double(x[i]) * y[i], xx += double(x[i]) * x[i], yy += double(y[i]) * y[i];
  return xy / std::sqrt(xx * yy);
}

inline std::vector<float> from_bf16(const std::vector<uint16_t>& bits) {
  std::vector<float> v(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) v[i] = bf16_to_f32(bits[i]);
  return v;
}

// Device copies of host vectors from one pool on device 0.
class DeviceScratch {
 public:
  DeviceScratch() : pool_(cuda::device_allocator(0)) {}

  template <typename T>
  void* upload(const std::vector<T>& v) {
    auto buf = pool_.allocate(v.size() * sizeof(T));
    cuda::copy_to_device(buf.get(), v.data(), v.size() * sizeof(T));
    held_.push_back(buf);
    return buf.get();
  }

  void* zeros(size_t bytes) {
    std::vector<unsigned char> z(bytes, 0);
    return upload(z);
  }

  template <typename T>
  std::vector<T> download(const void* p, size_t n) {
    std::vector<T> v(n);
    cuda::copy_to_host(v.data(), p, n * sizeof(T));
    return v;
  }

 private:
  BufferPool pool_;
  std::vector<std::shared_ptr<void>> held_;
};

}  // namespace mova::test
