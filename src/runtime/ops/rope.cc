#include "runtime/ops/rope.h"

#include <cmath>
#include <vector>

#include "runtime/backend.h"
#include "runtime/error.h"
#include "runtime/ops/handoff.h"

namespace mova {
namespace {

void check_x(const Tensor& x, const char* op) {
  check_handoff_dtype(x, op);
  MOVA_CHECK(x.dim() == 4 && x.size(3) % 2 == 0, ErrorKind::kShape, op, ": ", x.describe(),
             " must be [B, L, H, D] with even D");
}

}  // namespace

Tensor rope_interleaved(Exec& ex, const Tensor& x, const RopeAngles& angles) {
  check_x(x, "rope_interleaved");
  const int64_t B = x.size(0), L = x.size(1), H = x.size(2), D = x.size(3);
  MOVA_CHECK(angles.positions == L && angles.pairs * 2 == D &&
                 angles.angle.shape() == Shape({L, angles.pairs}) &&
                 angles.angle.dtype() == DType::kF64 && angles.angle.is_contiguous(),
             ErrorKind::kShape, "rope_interleaved: table ", angles.angle.describe(), " of ",
             angles.positions, " positions x ", angles.pairs, " pairs does not fit ", x.describe());
  if (const Device d = common_device("rope_interleaved", {&x, &angles.angle}); !d.is_cpu())
    return backend_for(d, "rope_interleaved").rope_interleaved(x, angles);
  const Tensor xc = x.contiguous(&ex.buffers());
  Tensor y = Tensor::empty(x.shape(), DType::kF32, &ex.buffers());
  const float* px = xc.data<float>();
  float* py = y.data<float>();
  const double* table = angles.angle.data<double>();
  ex.pool().parallel_for(B * L, 16, [&](int64_t r0, int64_t r1) {
    // A position's cosines and sines serve all its heads (40 in the published video DiT).
    std::vector<double> cos_sin(static_cast<size_t>(2 * angles.pairs));
    for (int64_t r = r0; r < r1; ++r) {
      const double* a = table + (r % L) * angles.pairs;
      for (int64_t j = 0; j < angles.pairs; ++j) {
        cos_sin[static_cast<size_t>(2 * j)] = std::cos(a[j]);
        cos_sin[static_cast<size_t>(2 * j + 1)] = std::sin(a[j]);
      }
      for (int64_t h = 0; h < H; ++h) {
        const float* src = px + (r * H + h) * D;
        float* dst = py + (r * H + h) * D;
        for (int64_t j = 0; j < angles.pairs; ++j) {
          const double c = cos_sin[static_cast<size_t>(2 * j)];
          const double s = cos_sin[static_cast<size_t>(2 * j + 1)];
          const double re = src[2 * j], im = src[2 * j + 1];
          dst[2 * j] = static_cast<float>(re * c - im * s);
          dst[2 * j + 1] = static_cast<float>(re * s + im * c);
        }
      }
    }
  });
  return y;
}

Tensor rope_rotate_half(Exec& ex, const Tensor& x, const Tensor& cos, const Tensor& sin) {
  check_x(x, "rope_rotate_half");
  const int64_t B = x.size(0), L = x.size(1), H = x.size(2), D = x.size(3);
  for (const Tensor* t : {&cos, &sin})
    MOVA_CHECK(t->dtype() == DType::kF32 && t->is_contiguous() && t->dim() == 2 &&
                   t->size(0) == L && t->size(1) == D,
               ErrorKind::kShape, "rope_rotate_half: table ", t->describe(),
               " must be contiguous F32 [", L, ", ", D, "]");
  if (const Device d = common_device("rope_rotate_half", {&x, &cos, &sin}); !d.is_cpu())
    return backend_for(d, "rope_rotate_half").rope_rotate_half(x, cos, sin);
  const Tensor xc = x.contiguous(&ex.buffers());
  Tensor y = Tensor::empty(x.shape(), DType::kF32, &ex.buffers());
  const float* px = xc.data<float>();
  const float* pc = cos.data<float>();
  const float* ps = sin.data<float>();
  float* py = y.data<float>();
  const int64_t half = D / 2;
  ex.pool().parallel_for(B * L, 16, [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const float* c = pc + (r % L) * D;
      const float* s = ps + (r % L) * D;
      for (int64_t h = 0; h < H; ++h) {
        const float* src = px + (r * H + h) * D;
        float* dst = py + (r * H + h) * D;
        for (int64_t j = 0; j < half; ++j) {
          dst[j] = src[j] * c[j] - src[j + half] * s[j];
          dst[j + half] = src[j + half] * c[j + half] + src[j] * s[j + half];
        }
      }
    }
  });
  return y;
}

}  // namespace mova
