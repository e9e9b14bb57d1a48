// CUDA emulator (tests/cuda_emulator): what its runtime, scheduler and cuBLASLt share. The
// emulator is one "GPU" that does one thing at a time: every entry point holds gpu_mutex(),
// and device memory is readable only inside a DeviceAccess scope.
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

namespace mova::cuda_emulator {

std::recursive_mutex& gpu_mutex();

// Opens device memory to this process for the scope's life (nests); held with gpu_mutex().
class DeviceAccess {
 public:
  DeviceAccess();
  ~DeviceAccess();
  DeviceAccess(const DeviceAccess&) = delete;
  DeviceAccess& operator=(const DeviceAccess&) = delete;
};

struct Allocation {
  char* begin = nullptr;
  size_t bytes = 0;
  int device = 0;
};

// The live allocation holding all of [p, p + bytes), if any.
std::optional<Allocation> find_allocation(const void* p, size_t bytes);
// Whether p lies in the device-memory arena at all (allocated or not).
bool in_arena(const void* p);

// MOVA_CUDA_EMULATOR_MEMORY_ONLY=1: every call is checked and device memory is allocated and
// freed as usual, but no kernel, GEMM, attention, copy or memset computes anything (a copy to
// the host writes zeros). What is left is the program's use of device memory, at sizes whose
// arithmetic the emulator could not do in hours (e.g. a 720p step; docs/cuda.md). Allocations
// are then not poisoned, so untouched device memory costs no host memory.
bool memory_only();

void* allocate(size_t bytes, int device);  // nullptr when the device is full
bool release(void* p);                     // false for a pointer cudaMalloc did not return
size_t used_bytes(int device);
size_t capacity_bytes();

int device_count();
int current_device();
// The dynamic shared memory a kernel may launch with (48 KiB unless cudaFuncSetAttribute).
size_t dynamic_shared_limit(const char* kernel);

// For the warp-level instructions (ptx.cc), inside a kernel:
// whether [p, p + bytes) lies in the running block's shared memory (dynamic or static);
bool in_shared_memory(const void* p, size_t bytes);
// every lane of the calling warp (all 32 must be live) hands in `words` (≤ 4) words; returns
// with all[lane * words + i] = word i of that lane, for every lane;
void warp_gather(const uint32_t* mine, int words, uint32_t* all);
// this thread's cp.async queue: a copy started, the started ones committed as a group, and
// the wait that does (completes) all but the `pending` newest committed groups.
void async_copy_start(std::function<void()> copy);
void async_copy_commit();
void async_copy_wait(int pending);

// x·y summed in k order with one rounding per step (a fused multiply-add), as a GPU thread
// accumulates a dot product: the emulated cuBLASLt's and cuDNN's arithmetic.
float dot_in_order(const float* x, const float* y, uint64_t k);

// Copies after checking each side against the kind and that device bytes lie inside one live
// allocation; `what` names the call in the refusal. A copy on the default stream stamps the
// device memory it touches (below); one a non-blocking stream runs later does not.
cudaError_t checked_copy(const char* what, void* dst, const void* src, size_t bytes,
                         cudaMemcpyKind kind, bool default_stream = true);

// Default-stream order, for the race check of copies on non-blocking streams (streams.cc):
// each default-stream operation stamps the allocations it reads or writes with a rising count;
// a copy queued on a non-blocking stream must have waited for an event recorded on the default
// stream after the last stamp of its destination. A freed allocation loses its stamp
// (cudaFree synchronises the device).
void touched_on_default_stream(const void* p);
void forget_default_stream_touches(const void* allocation);

// Says on stderr why the emulator refused a call.
void say(const char* format, ...) __attribute__((format(printf, 1, 2)));
// Records a failure for cudaGetLastError and says why on stderr (the status code alone rarely
// tells which argument was wrong). Returns the status, for `return fail(...)`.
cudaError_t fail(cudaError_t status, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace mova::cuda_emulator
