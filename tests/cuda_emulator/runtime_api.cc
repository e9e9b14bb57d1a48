// CUDA emulator: the runtime API's host calls (streams, events and pinned memory are in
// streams.cc). Everything runs synchronously on the calling thread; copies check that each
// side is where the copy kind says it is and that the bytes lie inside one allocation.
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "emulator.h"

namespace mova::cuda_emulator {
namespace {

thread_local cudaError_t last_error = cudaSuccess;
thread_local int current = 0;

// Kernel names as written at their launches, without spaces.
std::string key(const char* kernel) {
  std::string k;
  for (const char* c = kernel; *c; ++c)
    if (*c != ' ') k += *c;
  return k;
}

std::map<std::string, int>& dynamic_shared_limits() {
  static std::map<std::string, int> limits;
  return limits;
}

}  // namespace

namespace {
void say_v(const char* format, va_list args) {
  std::fprintf(stderr, "mova CUDA emulator: ");
  // clang-analyzer 14 loses the callers' va_start here (a false positive).
  std::vfprintf(stderr, format, args);  // NOLINT(clang-analyzer-valist.Uninitialized)
  std::fprintf(stderr, "\n");
}
}  // namespace

void say(const char* format, ...) {
  va_list args;
  va_start(args, format);
  say_v(format, args);
  va_end(args);
}

cudaError_t fail(cudaError_t status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  say_v(format, args);
  va_end(args);
  last_error = status;
  return status;
}

int device_count() {
  static const int n = [] {
    const char* env = std::getenv("MOVA_CUDA_EMULATOR_DEVICES");
    return env ? std::atoi(env) : 1;
  }();
  return n;
}

int current_device() {
  return current;
}

// The dynamic shared memory a kernel may use: 48 KiB unless raised with cudaFuncSetAttribute.
size_t dynamic_shared_limit(const char* kernel) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  const auto it = dynamic_shared_limits().find(key(kernel));
  return it == dynamic_shared_limits().end() ? 48 * 1024 : static_cast<size_t>(it->second);
}

}  // namespace mova::cuda_emulator

using namespace mova::cuda_emulator;

namespace {

constexpr int kOptInSharedBytes = 232448;  // 227 KiB, an H100's per-block opt-in maximum

bool valid_device(int d) {
  return d >= 0 && d < device_count();
}

}  // namespace

cudaError_t mova::cuda_emulator::checked_copy(const char* what, void* dst, const void* src,
                                              size_t bytes, cudaMemcpyKind kind,
                                              bool default_stream) {
  if (bytes == 0) return cudaSuccess;
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  const bool dst_device = in_arena(dst), src_device = in_arena(src);
  const bool want_dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool want_src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if (kind != cudaMemcpyDefault &&
      (dst_device != want_dst_device || src_device != want_src_device)) {
    return fail(cudaErrorInvalidValue, "%s: kind %d but the destination is %s and the source %s",
                what, static_cast<int>(kind), dst_device ? "device memory" : "host memory",
                src_device ? "device memory" : "host memory");
  }
  if (dst_device && !find_allocation(dst, bytes))
    return fail(cudaErrorInvalidValue, "%s: %zu bytes at %p run past their allocation", what, bytes,
                dst);
  if (src_device && !find_allocation(src, bytes))
    return fail(cudaErrorInvalidValue, "%s: %zu bytes from %p run past their allocation", what,
                bytes, src);
  if (default_stream) {
    if (dst_device) touched_on_default_stream(dst);
    if (src_device) touched_on_default_stream(src);
  }
  if (memory_only() && (dst_device || src_device)) {
    if (!dst_device) std::memset(dst, 0, bytes);  // finite values for the host to read
    return cudaSuccess;
  }
  const DeviceAccess open;
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaGetDeviceCount(int* count) {
  *count = device_count();
  if (*count == 0) {
    last_error = cudaErrorNoDevice;
    return cudaErrorNoDevice;
  }
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  *device = current;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (!valid_device(device)) return fail(cudaErrorInvalidDevice, "cudaSetDevice(%d)", device);
  current = device;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (!valid_device(device))
    return fail(cudaErrorInvalidDevice, "cudaGetDeviceProperties(%d)", device);
  *prop = {};
  std::snprintf(prop->name, sizeof prop->name, "mova.cpp CUDA emulator (CPU)");
  prop->totalGlobalMem = capacity_bytes();
  prop->sharedMemPerBlock = 48 * 1024;
  prop->sharedMemPerBlockOptin = kOptInSharedBytes;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024, prop->maxThreadsDim[1] = 1024, prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7fffffff, prop->maxGridSize[1] = 65535, prop->maxGridSize[2] = 65535;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 132;
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free, size_t* total) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  *total = capacity_bytes();
  *free = *total - used_bytes(current);
  return cudaSuccess;
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  *ptr = allocate(bytes, current);
  if (!*ptr) {
    last_error = cudaErrorMemoryAllocation;
    return cudaErrorMemoryAllocation;
  }
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  if (!release(ptr)) return fail(cudaErrorInvalidValue, "cudaFree(%p): not from cudaMalloc", ptr);
  forget_default_stream_touches(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  return checked_copy("cudaMemcpy", dst, src, bytes, kind);
}

cudaError_t cudaMemcpyPeer(void* dst, int dst_device, const void* src, int src_device,
                           size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  const auto d = find_allocation(dst, bytes);
  const auto s = find_allocation(src, bytes);
  if (!d || !s || d->device != dst_device || s->device != src_device)
    return fail(cudaErrorInvalidValue,
                "cudaMemcpyPeer: %zu bytes from device %d to device %d, but the source is %s "
                "and the destination %s",
                bytes, src_device, dst_device, s ? "on another device" : "not device memory",
                d ? "on another device" : "not device memory");
  return checked_copy("cudaMemcpyPeer", dst, src, bytes, cudaMemcpyDeviceToDevice);
}

cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  if (!find_allocation(ptr, bytes))
    return fail(cudaErrorInvalidValue, "cudaMemset: %zu bytes at %p are not device memory", bytes,
                ptr);
  touched_on_default_stream(ptr);
  if (memory_only()) return cudaSuccess;
  const DeviceAccess open;
  std::memset(ptr, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t) {
  return cudaMemset(ptr, value, bytes);
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = last_error;
  last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() {
  return last_error;
}

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
    case cudaSuccess:
      return "cudaSuccess";
    case cudaErrorInvalidValue:
      return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation:
      return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration:
      return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer:
      return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection:
      return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidResourceHandle:
      return "cudaErrorInvalidResourceHandle";
    case cudaErrorNoDevice:
      return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice:
      return "cudaErrorInvalidDevice";
    case cudaErrorLaunchFailure:
      return "cudaErrorLaunchFailure";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t error) {
  if (error == cudaSuccess) return "no error";
  if (error == cudaErrorMemoryAllocation) return "out of memory";
  return "the CUDA emulator refused the call (its reason is on stderr)";
}

namespace mova::cuda_emulator {

cudaError_t set_dynamic_shared_limit(const char* kernel, cudaFuncAttribute attr, int bytes) {
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize || bytes < 0 || bytes > kOptInSharedBytes)
    return fail(cudaErrorInvalidValue, "cudaFuncSetAttribute(%s): attribute %d value %d", kernel,
                static_cast<int>(attr), bytes);
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  dynamic_shared_limits()[key(kernel)] = bytes;
  return cudaSuccess;
}

}  // namespace mova::cuda_emulator
