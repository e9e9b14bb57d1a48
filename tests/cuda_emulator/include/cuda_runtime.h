// CUDA emulator (tests/cuda_emulator): what a .cu file sees on top of the runtime API: the
// execution-space keywords, the built-in thread indices, barriers, warp shuffles and the math
// intrinsics the kernels use, and kernel launches. rewrite_cuda_source.py turns the CUDA syntax
// of a .cu file into calls of these (launches, dynamic shared memory, cudaFuncSetAttribute).
//
// Each thread of a block is a fiber on its own stack; blocks run one after another. A fiber
// runs until it reaches a barrier (__syncthreads, __syncwarp, a shuffle, mma or ldmatrix), so
// a missing barrier shows as a stale read instead of being hidden by lockstep execution.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

#include "cuda_runtime_api.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Blocks run one at a time (launches are serialised), so a function-static array is the one
// block's shared memory (re-filled with 0xFF for each block: see static_shared_array).
#define __shared__ static

struct uint3 {
  unsigned x, y, z;
};

// Set by the scheduler for the fiber it resumes; each fiber only ever sees its own values.
extern uint3 threadIdx;
extern uint3 blockIdx;
extern dim3 blockDim;
extern dim3 gridDim;
constexpr int warpSize = 32;

namespace mova::cuda_emulator {

// Runs body(closure) once per thread of every block of the grid; a launch error (bad
// configuration, too much shared memory) is left for cudaGetLastError as CUDA leaves it.
// `kernel` is the launch's kernel expression as written (its identity for the shared-memory
// limit, and its name in messages).
void run_grid(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes, void (*body)(void*),
              void* closure);
// cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes), the kernel
// named as its launches name it.
cudaError_t set_dynamic_shared_limit(const char* kernel, cudaFuncAttribute attr, int bytes);
// Fails the launch (cudaGetLastError) when p is neither null nor inside the current device's
// memory: a host pointer handed to a kernel.
bool check_kernel_pointer(const void* p, const char* kernel, int argument);
void* dynamic_shared_memory();
// Declared by each `__shared__` array (rewrite_cuda_source.py adds the call): the block's first
// declaration fills it with 0xFF bytes and counts it toward the shared-memory limit.
void static_shared_array(void* p, size_t bytes);
// Fails the running launch (cudaErrorLaunchFailure) with a reason; the kernel runs on.
void kernel_fault(const char* what);
void block_barrier();
void warp_barrier(unsigned mask);
// Every lane in `mask` publishes `bits` and receives what lane `source` published.
uint64_t warp_exchange(unsigned mask, uint64_t bits, int source);
int lane_id();

// `launch(name, grid, block, shmem, stream)(call, args...)`: `call` invokes the kernel by name
// with the arguments (a generic lambda, so template arguments are deduced as for <<<>>>); each
// thread calls it on the same copies of the arguments, which the kernel's by-value parameters
// copy again.
class Launch {
 public:
  Launch(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes)
      : kernel_(kernel), grid_(grid), block_(block), shared_(shared_bytes) {}

  template <class Call, class... Args>
  void operator()(Call call, Args&&... args) const {
    using Params = std::tuple<std::decay_t<Args>...>;
    Params params(std::forward<Args>(args)...);
    bool ok = true;
    int index = 0;
    std::apply([&](const auto&... p) { ((ok = ok && argument_ok(p, index++)), ...); }, params);
    if (!ok) return;
    struct Closure {
      Call* call;
      Params* params;
    } closure{&call, &params};
    run_grid(
        kernel_, grid_, block_, shared_,
        [](void* c) {
          auto* cl = static_cast<Closure*>(c);
          std::apply(*cl->call, *cl->params);
        },
        &closure);
  }

 private:
  template <class T>
  bool argument_ok(const T& v, int index) const {
    if constexpr (std::is_pointer_v<T>)
      return check_kernel_pointer(static_cast<const void*>(v), kernel_, index);
    else if constexpr (requires { v.for_each_pointer([](const void*) {}); }) {
      // A struct argument names the device pointers it carries (the kernels' argument structs
      // in src/runtime/cuda/kernels do).
      bool ok = true;
      v.for_each_pointer(
          [&](const void* p) { ok = ok && check_kernel_pointer(p, kernel_, index); });
      return ok;
    } else {
      return true;
    }
  }

  const char* kernel_;
  dim3 grid_, block_;
  size_t shared_;
};

inline Launch launch(const char* kernel, dim3 grid, dim3 block, size_t shared_bytes = 0,
                     cudaStream_t = nullptr) {
  return {kernel, grid, block, shared_bytes};
}

template <class T>
uint64_t to_bits(T v) {
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffle of a wide type");
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof v);
  return bits;
}
template <class T>
T from_bits(uint64_t bits) {
  T v;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

}  // namespace mova::cuda_emulator

inline void __syncthreads() {
  mova::cuda_emulator::block_barrier();
}
inline void __syncwarp(unsigned mask = 0xffffffffu) {
  mova::cuda_emulator::warp_barrier(mask);
}

// Lanes outside the caller's `width`-wide segment read their own value, as on the GPU.
template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = warpSize) {
  const int lane = mova::cuda_emulator::lane_id();
  const int source = lane ^ lane_mask;
  const bool inside = source / width == lane / width;
  return mova::cuda_emulator::from_bits<T>(mova::cuda_emulator::warp_exchange(
      mask, mova::cuda_emulator::to_bits(v), inside ? source : lane));
}
template <class T>
T __shfl_sync(unsigned mask, T v, int source_lane, int width = warpSize) {
  const int lane = mova::cuda_emulator::lane_id();
  const int source = lane / width * width + source_lane % width;
  return mova::cuda_emulator::from_bits<T>(
      mova::cuda_emulator::warp_exchange(mask, mova::cuda_emulator::to_bits(v), source));
}
template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = warpSize) {
  const int lane = mova::cuda_emulator::lane_id();
  const int source = lane + static_cast<int>(delta);
  const bool inside = source / width == lane / width;
  return mova::cuda_emulator::from_bits<T>(mova::cuda_emulator::warp_exchange(
      mask, mova::cuda_emulator::to_bits(v), inside ? source : lane));
}

// Fibers of one block never run at the same time, so plain read-modify-writes are atomic.
template <class T>
T atomicAdd(T* p, T v) {
  const T old = *p;
  *p = old + v;
  return old;
}

// The fast-math intrinsics computed exactly: the GPU's are within a few ulp of these.
inline float __expf(float x) {
  return std::exp(x);
}
inline float __logf(float x) {
  return std::log(x);
}
inline float __fdividef(float a, float b) {
  return a / b;
}
inline float rsqrtf(float x) {
  return 1.0f / std::sqrt(x);
}
// The _rn forms exist to forbid FMA contraction; host code compiled here contracts nothing.
inline float __fmul_rn(float a, float b) {
  return a * b;
}
inline float __fadd_rn(float a, float b) {
  return a + b;
}
template <class T>
T __ldg(const T* p) {
  return *p;
}
