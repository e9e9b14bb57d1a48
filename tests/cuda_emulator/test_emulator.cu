// Tests of the CUDA emulator itself (compiled through rewrite_cuda_source.py like the backend's
// kernels): that it computes what CUDA and cuBLASLt define, and that it exposes the mistakes a
// GPU punishes (missing barriers, host pointers in kernels, bad launches, host reads of device
// memory) instead of running them as lockstep CPU code would.
#include <cublasLt.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "cuda/raw_device_vectors.h"
#include "emulator.h"
#include "runtime/cuda/kernels/attention.h"
#include "runtime/cuda/kernels/conv_lowering.h"
#include "runtime/cuda/kernels/warp_mma.cuh"
#include "runtime/dtype.h"
#include "runtime/error.h"

namespace {

using mova::test::fresh;
using mova::test::to_device;
using mova::test::to_host;

std::vector<float> counting(int n) {
  std::vector<float> v(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<float>(i % 97);
  return v;
}

// Each block sums its values through shared memory; the first and the last thread each read
// what all the others wrote (out[2·block] and out[2·block + 1]).
__global__ void block_sum(const float* x, float* out, bool barrier) {
  __shared__ float s[256];
  s[threadIdx.x] = x[blockIdx.x * blockDim.x + threadIdx.x];
  if (barrier) __syncthreads();
  if (threadIdx.x == 0 || threadIdx.x == blockDim.x - 1) {
    float t = 0.0f;
    for (unsigned i = 0; i < blockDim.x; ++i) t += s[i];
    out[2 * blockIdx.x + (threadIdx.x == 0 ? 0 : 1)] = t;
  }
}

TEST(CudaEmulator, ABlockBarrierOrdersSharedMemoryAndItsAbsenceShows) {
  const std::vector<float> x = counting(4 * 256);
  float* dx = to_device(x);
  float* with = fresh<float>(8);
  float* without = fresh<float>(8);
  block_sum<<<4, 256>>>(dx, with, true);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  block_sum<<<4, 256>>>(dx, without, false);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const std::vector<float> good = to_host(with, 8), racy = to_host(without, 8);
  for (size_t b = 0; b < 4; ++b) {
    float expected = 0.0f;
    for (size_t i = 0; i < 256; ++i) expected += x[b * 256 + i];
    EXPECT_EQ(good[2 * b], expected) << "block " << b;
    EXPECT_EQ(good[2 * b + 1], expected) << "block " << b;
    // Without the barrier, the thread that runs first reads shared memory nobody has written
    // yet (NaN): thread 0 in even blocks, the last thread in odd ones, which run backwards.
    // The other runs last and happens to see everything.
    const size_t first = b % 2 == 0 ? 2 * b : 2 * b + 1, last = b % 2 == 0 ? 2 * b + 1 : 2 * b;
    EXPECT_TRUE(std::isnan(racy[first])) << "block " << b;
    EXPECT_EQ(racy[last], expected) << "block " << b;
  }
  cudaFree(dx), cudaFree(with), cudaFree(without);
}

__global__ void shuffles(const float* x, float* sum, float* broadcast, float* down) {
  const float v = x[threadIdx.x];
  float s = v;
  for (int offset = 16; offset > 0; offset /= 2) s += __shfl_xor_sync(0xffffffffu, s, offset);
  sum[threadIdx.x] = s;
  broadcast[threadIdx.x] = __shfl_sync(0xffffffffu, v, 7);
  down[threadIdx.x] = __shfl_down_sync(0xffffffffu, v, 4, 16);
}

TEST(CudaEmulator, WarpShufflesFollowCudaSemantics) {
  const std::vector<float> x = counting(64);
  float* dx = to_device(x);
  float *sum = fresh<float>(64), *broadcast = fresh<float>(64), *down = fresh<float>(64);
  shuffles<<<1, 64>>>(dx, sum, broadcast, down);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const auto s = to_host(sum, 64), b = to_host(broadcast, 64), d = to_host(down, 64);
  for (int t = 0; t < 64; ++t) {
    const int warp = t / 32, lane = t % 32;
    float total = 0.0f;
    for (int i = 0; i < 32; ++i) total += x[static_cast<size_t>(warp * 32 + i)];
    EXPECT_EQ(s[static_cast<size_t>(t)], total) << t;
    EXPECT_EQ(b[static_cast<size_t>(t)], x[static_cast<size_t>(warp * 32 + 7)]) << t;
    // Width 16: lanes whose source leaves their 16-lane segment keep their own value.
    const int source = lane % 16 + 4 < 16 ? t + 4 : t;
    EXPECT_EQ(d[static_cast<size_t>(t)], x[static_cast<size_t>(source)]) << t;
  }
  cudaFree(dx), cudaFree(sum), cudaFree(broadcast), cudaFree(down);
}

__global__ void divergent_barriers(float* out) {
  if (threadIdx.x == 5)
    __syncthreads();
  else
    __syncwarp();
  out[threadIdx.x] = 1.0f;
}

TEST(CudaEmulator, ThreadsWaitingAtDifferentBarriersFailTheLaunchInsteadOfHanging) {
  float* out = fresh<float>(32);
  divergent_barriers<<<1, 32>>>(out);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure);
  cudaFree(out);
}

// A struct argument that names its pointers, as the backend's argument structs do.
struct Carrier {
  const float* x = nullptr;
  int n = 0;
  template <class F>
  void for_each_pointer(F&& f) const {
    f(x);
  }
};

__global__ void copy_first(Carrier c, float* out) {
  out[0] = c.x[0];
}

TEST(CudaEmulator, AHostPointerArgumentFailsTheLaunch) {
  std::vector<float> host_x = counting(256);
  float* out = fresh<float>(1);
  block_sum<<<1, 256>>>(host_x.data(), out, true);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_TRUE(std::isnan(to_host(out, 1)[0])) << "the kernel must not have run";

  Carrier c;
  c.x = host_x.data();  // inside a struct argument
  copy_first<<<1, 1>>>(c, out);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_TRUE(std::isnan(to_host(out, 1)[0])) << "the kernel must not have run";
  c.x = to_device(host_x);
  copy_first<<<1, 1>>>(c, out);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(to_host(out, 1)[0], host_x[0]);

  // The backend's own argument structs name theirs: attention given a host bias.
  const std::vector<uint16_t> qkv(64, 0);
  uint16_t* d = to_device(qkv);
  mova::cuda::AttentionArgs a;
  a.q = a.k = a.v = d;
  a.out = fresh<uint16_t>(64);
  a.dtype = mova::DType::kBF16;
  a.batch = a.q_len = a.kv_len = a.heads = 1;
  a.head_dim = 64;
  a.q_strides = a.k_strides = a.v_strides = {64, 64, 64};
  a.bias = host_x.data();
  EXPECT_THROW(mova::cuda::attention(a), mova::Error);
  mova::cuda::Im2Col g;  // one channel, one tap, one position
  g.c_in = 1;
  g.x = host_x.data();
  EXPECT_THROW(mova::cuda::im2col(g, 0, 1, out, mova::DType::kF32), mova::Error);
  cudaFree(const_cast<float*>(c.x)), cudaFree(d), cudaFree(a.out), cudaFree(out);
}

__global__ void fill_shared(float* out, int n) {
  extern __shared__ __align__(16) float scratch[];
  for (int i = static_cast<int>(threadIdx.x); i < n; i += static_cast<int>(blockDim.x))
    scratch[i] = 1.0f;
  __syncthreads();
  if (threadIdx.x == 0) {
    float t = 0.0f;
    for (int i = 0; i < n; ++i) t += scratch[i];
    out[0] = t;
  }
}

TEST(CudaEmulator, LaunchLimitsAreCudas) {
  float* out = fresh<float>(1);
  fill_shared<<<1, 2048>>>(out, 16);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration) << "2048 threads per block";
  fill_shared<<<dim3(1, 70000), 32>>>(out, 16);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration) << "grid.y over 65535";

  const int n = 16384;  // 64 KiB: over the 48 KiB a kernel gets without opting in
  fill_shared<<<1, 128, n * sizeof(float)>>>(out, n);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  ASSERT_EQ(cudaFuncSetAttribute(fill_shared, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                 n * static_cast<int>(sizeof(float))),
            cudaSuccess);
  fill_shared<<<1, 128, n * sizeof(float)>>>(out, n);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(to_host(out, 1)[0], static_cast<float>(n));
  cudaFree(out);
}

TEST(CudaEmulator, FreshDeviceMemoryIsNaNAndCopiesCheckTheirSides) {
  float* p = fresh<float>(8);
  for (float v : to_host(p, 8)) EXPECT_TRUE(std::isnan(v));
  std::vector<float> a(8, 1.0f), b(8, 2.0f);
  EXPECT_EQ(cudaMemcpy(a.data(), b.data(), 32, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(b.data(), p, 32, cudaMemcpyHostToDevice), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(p, a.data(), 36, cudaMemcpyHostToDevice), cudaErrorInvalidValue)
      << "one float past the allocation";
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidValue);
  EXPECT_EQ(cudaMemcpy(p, a.data(), 32, cudaMemcpyHostToDevice), cudaSuccess);
  EXPECT_EQ(to_host(p, 8), a);
  EXPECT_EQ(cudaFree(a.data()), cudaErrorInvalidValue);
  cudaGetLastError();
  cudaFree(p);
}

TEST(CudaEmulatorDeathTest, HostCodeReadingDeviceMemoryFaults) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  float* p = fresh<float>(4);
  EXPECT_DEATH(*reinterpret_cast<volatile float*>(p) = 1.0f, "host code touched device memory");
  cudaFree(p);
}

// Thread 0 copies 16 bytes into shared memory with cp.async; what it reads before the wait, and
// after, and what a zero-filling copy leaves.
__global__ void async_copy(const float* src, float* before, float* after, float* zeros) {
  __shared__ __align__(16) float tile[8];
  if (threadIdx.x != 0) return;
  mova::cuda::ptx::cp_async_16(tile, src, true);
  mova::cuda::ptx::cp_async_16(tile + 4, src, false);
  mova::cuda::ptx::cp_async_commit();
  for (int i = 0; i < 4; ++i) before[i] = tile[i];
  mova::cuda::ptx::cp_async_wait<0>();
  for (int i = 0; i < 4; ++i) after[i] = tile[i], zeros[i] = tile[4 + i];
}

TEST(CudaEmulator, CpAsyncLandsAtItsWait) {
  const std::vector<float> x = {1.0f, 2.0f, 3.0f, 4.0f};
  float* src = to_device(x);
  float *before = fresh<float>(4), *after = fresh<float>(4), *zeros = fresh<float>(4);
  async_copy<<<1, 32>>>(src, before, after, zeros);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  for (float v : to_host(before, 4)) EXPECT_TRUE(std::isnan(v)) << "in flight";
  EXPECT_EQ(to_host(after, 4), x);
  EXPECT_EQ(to_host(zeros, 4), std::vector<float>(4, 0.0f));
  cudaFree(src), cudaFree(before), cudaFree(after), cudaFree(zeros);
}

TEST(CudaEmulator, Bf16AndHalfConversionsRoundToNearestEven) {
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> wide(-1e6f, 1e6f);
  std::vector<float> values = {0.0f,    -0.0f,   1.0f,     1.00390625f, 1.01171875f,
                               3.4e38f, -1e-40f, INFINITY, -INFINITY};
  for (int i = 0; i < 10000; ++i) values.push_back(wide(rng));
  for (float v : values) {
    EXPECT_EQ(__float2bfloat16_rn(v).__x, mova::f32_to_bf16(v)) << v;
    EXPECT_EQ(__float2half_rn(v).__x, mova::f32_to_f16(v)) << v;
  }
  // Hand-checked bits: ties go to the even neighbour, overflow to infinity.
  EXPECT_EQ(__float2bfloat16_rn(1.00390625f).__x, 0x3f80);  // 1 + 2^-8: tie, down to even
  EXPECT_EQ(__float2bfloat16_rn(1.01171875f).__x, 0x3f82);  // 1 + 3·2^-8: tie, up to even
  EXPECT_EQ(__float2bfloat16_rn(1.0078125f).__x, 0x3f81);   // 1 + 2^-7: exact
  EXPECT_EQ(__float2bfloat16_rn(3.4e38f).__x, 0x7f80);      // past bf16's largest: infinity
  EXPECT_EQ(__float2bfloat16_rn(-2.5f).__x, 0xc020);
  EXPECT_TRUE(std::isnan(__bfloat162float(__float2bfloat16_rn(NAN))));
  EXPECT_TRUE(std::isnan(__half2float(__float2half_rn(NAN))));
  EXPECT_EQ(__float2half_rn(65504.0f).__x, 0x7bff);
  EXPECT_EQ(__float2half_rn(65520.0f).__x, 0x7c00);               // rounds to infinity
  EXPECT_EQ(__float2half_rn(std::ldexp(1.0f, -24)).__x, 0x0001);  // smallest subnormal
  EXPECT_EQ(__float2half_rn(std::ldexp(1.0f, -25)).__x, 0x0000);  // tie to even (zero)
  EXPECT_EQ(__float2half_rn(std::ldexp(1.5f, -24)).__x, 0x0002);  // tie to even (two)
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    const __half h{static_cast<uint16_t>(bits)};
    if ((bits & 0x7c00) == 0x7c00 && (bits & 0x3ff)) continue;  // NaN payloads
    EXPECT_EQ(__float2half_rn(__half2float(h)).__x, bits);
    EXPECT_EQ(__half2float(h), mova::f16_to_f32(static_cast<uint16_t>(bits))) << bits;
  }
}

// cuBLASLt with hand-checked numbers: column-major 2x3 A (op N) times B stored 2x3 (op T).
TEST(CudaEmulator, CublasLtMatmulIsColumnMajorWithBiasAndBeta) {
  cublasLtHandle_t handle;
  ASSERT_EQ(cublasLtCreate(&handle), CUBLAS_STATUS_SUCCESS);
  cublasLtMatmulDesc_t desc;
  ASSERT_EQ(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), CUBLAS_STATUS_SUCCESS);
  const cublasOperation_t t = CUBLAS_OP_T;
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &t, sizeof t),
            CUBLAS_STATUS_SUCCESS);
  const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
  ASSERT_EQ(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                           sizeof epilogue),
            CUBLAS_STATUS_SUCCESS);
  // A = [[1 2 3], [4 5 6]] (2x3, ld 2: columns (1,4), (2,5), (3,6)).
  // B stored 2x3 = [[1 0 1], [0 1 1]], used transposed: op(B) is 3x2.
  // A·op(B) = [[1+3, 2+3], [4+6, 5+6]] = [[4 5], [10 11]]; bias (100, 200) per row.
  // A seventh element, so that a + 1 is inside the allocation but only 4-byte aligned.
  float* a = to_device(std::vector<float>{1, 4, 2, 5, 3, 6, 0});
  float* b = to_device(std::vector<float>{1, 0, 0, 1, 1, 1});
  float* bias = to_device(std::vector<float>{100, 200});
  float* d = fresh<float>(4);  // NaN: with beta = 0, C (= D here) must not be read
  ASSERT_EQ(
      cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias),
      CUBLAS_STATUS_SUCCESS);
  cublasLtMatrixLayout_t la, lb, ld;
  cublasLtMatrixLayoutCreate(&la, CUDA_R_32F, 2, 3, 2);
  cublasLtMatrixLayoutCreate(&lb, CUDA_R_32F, 2, 3, 2);
  cublasLtMatrixLayoutCreate(&ld, CUDA_R_32F, 2, 2, 2);
  cublasLtMatmulPreference_t pref;
  cublasLtMatmulPreferenceCreate(&pref);
  cublasLtMatmulHeuristicResult_t result;
  int found = 0;
  ASSERT_EQ(cublasLtMatmulAlgoGetHeuristic(handle, desc, la, lb, ld, ld, pref, 1, &result, &found),
            CUBLAS_STATUS_SUCCESS);
  ASSERT_EQ(found, 1);
  const float one = 1.0f, zero = 0.0f;
  ASSERT_EQ(cublasLtMatmul(handle, desc, &one, a, la, b, lb, &zero, d, ld, d, ld, &result.algo,
                           nullptr, 0, nullptr),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(to_host(d, 4), (std::vector<float>{104, 210, 105, 211}));
  ASSERT_EQ(cublasLtMatmul(handle, desc, &one, a, la, b, lb, &one, d, ld, d, ld, &result.algo,
                           nullptr, 0, nullptr),
            CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(to_host(d, 4), (std::vector<float>{208, 420, 210, 422})) << "beta = 1 adds C";

  // An operand less aligned than the heuristic was promised (256 bytes by default).
  EXPECT_EQ(cublasLtMatmul(handle, desc, &one, a + 1, la, b, lb, &zero, d, ld, d, ld, &result.algo,
                           nullptr, 0, nullptr),
            CUBLAS_STATUS_INVALID_VALUE);
  // Shapes that do not chain: op(B) 3x2 against a 2x2 A.
  cublasLtMatrixLayout_t la2;
  cublasLtMatrixLayoutCreate(&la2, CUDA_R_32F, 2, 2, 2);
  EXPECT_EQ(cublasLtMatmulAlgoGetHeuristic(handle, desc, la2, lb, ld, ld, pref, 1, &result, &found),
            CUBLAS_STATUS_INVALID_VALUE);
  // A host operand.
  std::vector<float> host_a{1, 4, 2, 5, 3, 6};
  EXPECT_EQ(cublasLtMatmul(handle, desc, &one, host_a.data(), la, b, lb, &zero, d, ld, d, ld,
                           &result.algo, nullptr, 0, nullptr),
            CUBLAS_STATUS_INVALID_VALUE);
  for (auto l : {la, lb, ld, la2}) cublasLtMatrixLayoutDestroy(l);
  cublasLtMatmulPreferenceDestroy(pref);
  cublasLtMatmulDescDestroy(desc);
  cublasLtDestroy(handle);
  cudaFree(a), cudaFree(b), cudaFree(bias), cudaFree(d);
}

__global__ void reads_shared_before_writing(float* out) {
  __shared__ float s[32];
  out[threadIdx.x] = s[threadIdx.x];  // nothing wrote s in this block
  s[threadIdx.x] = 1.0f;
}

TEST(CudaEmulator, StaticSharedMemoryStartsAsNaNInEveryBlock) {
  float* out = fresh<float>(64);
  reads_shared_before_writing<<<2, 32>>>(out);  // the second block follows one that wrote s
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  for (float v : to_host(out, 64)) EXPECT_TRUE(std::isnan(v));
  cudaFree(out);
}

__global__ void too_much_static_shared(float* out) {
  __shared__ float big[16384];  // 64 KiB: nvcc refuses this at compile time, the emulator at launch
  big[threadIdx.x] = 1.0f;
  out[0] = big[0];
}

__global__ void half_warp_shuffle(float* out) {
  out[threadIdx.x] = __shfl_xor_sync(0x0000ffffu, 1.0f, 1);
}

__global__ void ldmatrix_from_global(const uint16_t* a, float* out) {
  uint32_t r[4];
  mova::cuda::ptx::ldmatrix_x4(r, a);  // ldmatrix reads shared memory only
  out[threadIdx.x] = static_cast<float>(r[0]);
}

__global__ void misaligned_cp_async(const float* src) {
  __shared__ __align__(16) float tile[8];
  mova::cuda::ptx::cp_async_16(tile, src + 1, true);  // 4-byte aligned source
  mova::cuda::ptx::cp_async_wait<0>();
}

__global__ void mma_after_a_lane_left(float* out) {
  if (threadIdx.x == 31) return;
  const uint32_t a[4] = {0, 0, 0, 0};
  float d[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  mova::cuda::ptx::mma_bf16_16816(d, a, 0, 0);  // .aligned: the whole warp must execute it
  out[threadIdx.x] = d[0];
}

TEST(CudaEmulator, WhatTheEmulatorCannotOrTheGpuWouldNotRunFailsTheLaunch) {
  float* out = fresh<float>(32);
  too_much_static_shared<<<1, 32>>>(out);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure) << "static shared memory over 48 KiB";
  half_warp_shuffle<<<1, 32>>>(out);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure) << "partial-mask shuffles are refused";
  uint16_t* a = to_device(std::vector<uint16_t>(512, 0));
  ldmatrix_from_global<<<1, 32>>>(a, out);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure) << "ldmatrix from global memory";
  misaligned_cp_async<<<1, 32>>>(out);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure) << "cp.async needs 16-byte alignment";
  mma_after_a_lane_left<<<1, 32>>>(out);
  EXPECT_EQ(cudaGetLastError(), cudaErrorLaunchFailure) << "mma.sync with 31 lanes";
  cudaFree(a), cudaFree(out);
}

TEST(CudaEmulator, FreedDeviceMemoryReadsAsNaN) {
  void* p = nullptr;
  ASSERT_EQ(cudaMalloc(&p, 256), cudaSuccess);
  ASSERT_EQ(cudaMemset(p, 0, 256), cudaSuccess);
  ASSERT_EQ(cudaFree(p), cudaSuccess);
  // What a kernel reading through a stale pointer would see (the emulator's own view).
  const std::lock_guard<std::recursive_mutex> lock(mova::cuda_emulator::gpu_mutex());
  const mova::cuda_emulator::DeviceAccess open;
  for (int i = 0; i < 64; ++i) EXPECT_TRUE(std::isnan(static_cast<const float*>(p)[i])) << i;
}

}  // namespace
