// The warp-level instructions of src/runtime/cuda/kernels/warp_mma.cuh against the PTX ISA's
// fragment layouts, restated here lane by lane (owner to element; the emulator's ptx.cc goes
// element to owner). Built with nvcc into mova_cuda_tests and through the CUDA emulator into
// mova_cuda_emulated_tests, so the same expectations check the GPU and the emulator: should the
// tensor-core attention fail on a GPU, this says whether the instructions or the kernel is wrong.
#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "cuda/raw_device_vectors.h"
#include "runtime/cuda/kernels/warp_mma.cuh"
#include "runtime/dtype.h"

namespace {

int device_count() {
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
}

using mova::test::fresh;
using mova::test::to_device;
using mova::test::to_host;

// One warp: each lane loads four 8x8 matrices with ldmatrix (plain and transposed) and
// computes D = A·B + 1 for one m16n8k16 tile from fragments it builds from the operands.
__global__ void ldmatrix_and_mma(const uint16_t* m, uint32_t* plain, uint32_t* trans,
                                 const uint16_t* a, const uint16_t* b, float* d) {
  __shared__ __align__(16) uint16_t tiles[32 * 8];  // matrix j: rows 8j..8j+7
  for (int i = 0; i < 8; ++i) tiles[threadIdx.x * 8 + i] = m[threadIdx.x * 8 + i];
  __syncwarp();
  uint32_t r[4];
  mova::cuda::ptx::ldmatrix_x4(r, tiles + threadIdx.x * 8);
  for (int j = 0; j < 4; ++j) plain[threadIdx.x * 4 + j] = r[j];
  mova::cuda::ptx::ldmatrix_x4_trans(r, tiles + threadIdx.x * 8);
  for (int j = 0; j < 4; ++j) trans[threadIdx.x * 4 + j] = r[j];

  // A is 16x16 row-major, B 16x8 stored by columns (b[n * 16 + k]), D 16x8 row-major.
  const int g = threadIdx.x / 4, t = threadIdx.x % 4;
  const auto pair = [](const uint16_t* p, int stride) {
    return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[stride]) << 16;
  };
  const uint32_t fa[4] = {pair(a + g * 16 + 2 * t, 1), pair(a + (g + 8) * 16 + 2 * t, 1),
                          pair(a + g * 16 + 2 * t + 8, 1), pair(a + (g + 8) * 16 + 2 * t + 8, 1)};
  float acc[4] = {1.0f, 1.0f, 1.0f, 1.0f};
  mova::cuda::ptx::mma_bf16_16816(acc, fa, pair(b + g * 16 + 2 * t, 1),
                                  pair(b + g * 16 + 2 * t + 8, 1));
  d[g * 8 + 2 * t] = acc[0], d[g * 8 + 2 * t + 1] = acc[1];
  d[(g + 8) * 8 + 2 * t] = acc[2], d[(g + 8) * 8 + 2 * t + 1] = acc[3];
}

TEST(CudaWarpMma, LdmatrixAndMmaFollowPtxFragmentLayouts) {
  if (device_count() == 0) GTEST_SKIP() << "no CUDA device or driver on this machine";
  std::vector<uint16_t> m(256);
  for (int i = 0; i < 256; ++i) m[static_cast<size_t>(i)] = static_cast<uint16_t>(i);
  std::vector<uint16_t> a(256), b(128);
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> small(-4, 4);
  for (auto& v : a) v = mova::f32_to_bf16(static_cast<float>(small(rng)));
  for (auto& v : b) v = mova::f32_to_bf16(static_cast<float>(small(rng)));
  uint16_t *dm = to_device(m), *da = to_device(a), *db = to_device(b);
  uint32_t *plain = fresh<uint32_t>(128), *trans = fresh<uint32_t>(128);
  float* d = fresh<float>(128);
  ldmatrix_and_mma<<<1, 32>>>(dm, plain, trans, da, db, d);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const std::vector<uint32_t> got_plain = to_host(plain, 128), got_trans = to_host(trans, 128);
  // Element (row, col) of matrix j is the number 64j + 8row + col.
  for (uint32_t lane = 0; lane < 32; ++lane)
    for (uint32_t j = 0; j < 4; ++j) {
      const uint32_t g = lane / 4, t = lane % 4, base = 64 * j;
      const uint32_t p = got_plain[lane * 4 + j], q = got_trans[lane * 4 + j];
      EXPECT_EQ(p & 0xffffu, base + 8 * g + 2 * t) << lane << " " << j;
      EXPECT_EQ(p >> 16, base + 8 * g + 2 * t + 1) << lane << " " << j;
      EXPECT_EQ(q & 0xffffu, base + 8 * (2 * t) + g) << lane << " " << j;
      EXPECT_EQ(q >> 16, base + 8 * (2 * t + 1) + g) << lane << " " << j;
    }
  const std::vector<float> got = to_host(d, 128);
  for (int r = 0; r < 16; ++r)
    for (int n = 0; n < 8; ++n) {
      float expected = 1.0f;
      for (int k = 0; k < 16; ++k)
        expected += mova::bf16_to_f32(a[static_cast<size_t>(r * 16 + k)]) *
                    mova::bf16_to_f32(b[static_cast<size_t>(n * 16 + k)]);
      EXPECT_EQ(got[static_cast<size_t>(r * 8 + n)], expected) << r << "," << n;
    }
  cudaFree(dm), cudaFree(da), cudaFree(db), cudaFree(plain), cudaFree(trans), cudaFree(d);
}

}  // namespace
