// CUDA emulator (tests/cuda_emulator): the WMMA API for 16x16x16 tiles. The GPU spreads a
// fragment over the warp's lanes in an unspecified layout; here every lane holds the whole tile,
// which no correct program can tell apart. The operations are not treated as barriers: the
// guide says every lane arrives before a load, not that it orders other lanes' earlier
// shared-memory writes, so a lane here loads as soon as it gets there and code must
// __syncwarp() between writing a tile and loading it, as for plain loads. A store writes only
// the lane's share of the tile (element i by lane i % 32), so reading another lane's part
// before a __syncwarp() reads stale memory. Products are exact (BF16 × BF16 fits in F32) and
// summed in F32.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
  static_assert(M == 16 && N == 16 && K == 16, "the emulator has 16x16x16 tiles only");
  static constexpr int num_elements = 256;
  float x[256];  // row-major: [row][column] of the tile this fragment holds
};

namespace detail {
// WMMA's own rules: a 256-bit aligned pointer, and ldm a multiple of 16 bytes.
template <class T>
void check(const T* p, unsigned ldm, const char* op) {
  if (reinterpret_cast<uintptr_t>(p) % 32 != 0)
    mova::cuda_emulator::kernel_fault(op);
  else if (ldm * sizeof(T) % 16 != 0)
    mova::cuda_emulator::kernel_fault(op);
}
inline float widen(float v) {
  return v;
}
inline float widen(__nv_bfloat16 v) {
  return __bfloat162float(v);
}
inline float widen(__half v) {
  return __half2float(v);
}
}  // namespace detail

template <class Use, class T, class Layout>
void fill_fragment(fragment<Use, 16, 16, 16, T, Layout>& f, float v) {
  for (float& e : f.x) e = v;
}

// matrix_a is M×K, matrix_b K×N; both 16×16, so only the storage order differs.
template <class Use, class T, class Layout, class S>
void load_matrix_sync(fragment<Use, 16, 16, 16, T, Layout>& f, const S* p, unsigned ldm) {
  static_assert(!std::is_same_v<Use, accumulator>, "an accumulator load names its layout");
  detail::check(p, ldm, "load_matrix_sync: pointer not 32-byte aligned or ldm not 16 bytes");
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      f.x[r * 16 + c] =
          detail::widen(std::is_same_v<Layout, col_major> ? p[c * ldm + r] : p[r * ldm + c]);
}

template <class T>
void load_matrix_sync(fragment<accumulator, 16, 16, 16, T>& f, const float* p, unsigned ldm,
                      layout_t layout) {
  detail::check(p, ldm, "load_matrix_sync: pointer not 32-byte aligned or ldm not 16 bytes");
  for (int r = 0; r < 16; ++r)
    for (int c = 0; c < 16; ++c)
      f.x[r * 16 + c] = layout == mem_col_major ? p[c * ldm + r] : p[r * ldm + c];
}

template <class T>
void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 16, T>& f, unsigned ldm,
                       layout_t layout) {
  detail::check(p, ldm, "store_matrix_sync: pointer not 32-byte aligned or ldm not 16 bytes");
  for (int i = mova::cuda_emulator::lane_id(); i < 256; i += 32) {
    const int r = i / 16, c = i % 16;
    (layout == mem_col_major ? p[c * ldm + r] : p[r * ldm + c]) = f.x[i];
  }
}

template <class TA, class LA, class TB, class LB, class TC>
void mma_sync(fragment<accumulator, 16, 16, 16, TC>& d,
              const fragment<matrix_a, 16, 16, 16, TA, LA>& a,
              const fragment<matrix_b, 16, 16, 16, TB, LB>& b,
              const fragment<accumulator, 16, 16, 16, TC>& c) {
  float out[256];
  for (int r = 0; r < 16; ++r)
    for (int n = 0; n < 16; ++n) {
      float s = c.x[r * 16 + n];
      for (int k = 0; k < 16; ++k) s += a.x[r * 16 + k] * b.x[k * 16 + n];
      out[r * 16 + n] = s;
    }
  for (int i = 0; i < 256; ++i) d.x[i] = out[i];
}

}  // namespace nvcuda::wmma
