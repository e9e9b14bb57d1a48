// CUDA emulator: streams, events and pinned host memory.
//
// Kernels and the legacy default stream run at once, on the calling thread. A stream created
// with cudaStreamNonBlocking is the one place where work is left for later, as on a GPU it runs
// beside the default stream: its copies from pinned memory wait in the stream until something
// waits for them (an event recorded after them that the default stream waits for or the host
// synchronises with, or the stream or device synchronised), and run then, at the latest
// moment a GPU could run them. So a reader that does not wait sees the destination's old bytes
// (fresh device memory is poisoned with 0xff, NaN in every float dtype), and a staging buffer
// written again before its copy was waited for gives the copy the new bytes: both show as
// wrong values in tests. A copy from pageable memory reads its source at the call, as CUDA's
// does (through the driver's own staging), and a blocking stream runs everything at once (it
// is ordered with the default stream, which runs at once).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <map>

#include "emulator.h"

struct CUstream_st {
  uint64_t id = 0;
  int device = 0;
  bool deferred = false;                             // created with cudaStreamNonBlocking
  uint64_t issued = 0;                               // work items queued so far
  uint64_t done = 0;                                 // of them, run
  std::deque<std::function<cudaError_t()>> waiting;  // items done + 1 .. issued
};
struct CUevent_st {
  std::chrono::steady_clock::time_point when;
  bool recorded = false;
  uint64_t stream = 0;  // the id of a deferring stream it was recorded on, else 0
  uint64_t after = 0;   // the work items of that stream it follows
};

using namespace mova::cuda_emulator;

namespace {

// By id: an event may outlive its stream (then it is complete).
std::map<uint64_t, cudaStream_t>& deferring_streams() {
  static std::map<uint64_t, cudaStream_t> streams;
  return streams;
}

std::map<const char*, size_t, std::greater<>>& pinned() {  // start -> bytes
  static std::map<const char*, size_t, std::greater<>> blocks;
  return blocks;
}

bool is_pinned(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  const auto it = pinned().lower_bound(c);  // the block starting at or before c
  return it != pinned().end() && c + bytes <= it->first + it->second;
}

// Runs `stream`'s waiting work up to item `upto`. A failure is reported, as a GPU's
// asynchronous errors are, by the call that waited.
cudaError_t run_until(cudaStream_t stream, uint64_t upto) {
  cudaError_t status = cudaSuccess;
  while (stream->done < upto && !stream->waiting.empty()) {
    const std::function<cudaError_t()> item = std::move(stream->waiting.front());
    stream->waiting.pop_front();
    ++stream->done;
    const cudaError_t s = item();
    if (status == cudaSuccess) status = s;
  }
  return status;
}

cudaError_t run_all(cudaStream_t stream) {
  return run_until(stream, stream->issued);
}

// Waits (runs the work) for what `event` follows.
cudaError_t run_until(cudaEvent_t event) {
  if (!event->recorded || event->stream == 0) return cudaSuccess;
  const auto it = deferring_streams().find(event->stream);
  return it == deferring_streams().end() ? cudaSuccess : run_until(it->second, event->after);
}

}  // namespace

cudaError_t cudaDeviceSynchronize() {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  cudaError_t status = cudaSuccess;
  for (const auto& [id, stream] : deferring_streams()) {
    const cudaError_t s = run_all(stream);
    if (status == cudaSuccess) status = s;
  }
  return status;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  *ptr = std::aligned_alloc(4096, (std::max<size_t>(bytes, 1) + 4095) / 4096 * 4096);
  if (!*ptr) return fail(cudaErrorMemoryAllocation, "cudaMallocHost: %zu bytes", bytes);
  pinned()[static_cast<const char*>(*ptr)] = bytes;
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) {
  if (!ptr) return cudaSuccess;
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  if (pinned().erase(static_cast<const char*>(ptr)) == 0)
    return fail(cudaErrorInvalidValue, "cudaFreeHost(%p): not from cudaMallocHost", ptr);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  if (!stream || !stream->deferred || !is_pinned(src, bytes))
    return checked_copy("cudaMemcpyAsync", dst, src, bytes, kind);
  // Deferred: its checks run when it does (the destination must still be allocated then).
  stream->waiting.emplace_back([=] {
    return checked_copy("cudaMemcpyAsync (from pinned memory, run when waited for)", dst, src,
                        bytes, kind);
  });
  ++stream->issued;
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if ((flags & ~static_cast<unsigned>(cudaStreamNonBlocking)) != 0)
    return fail(cudaErrorInvalidValue, "cudaStreamCreateWithFlags: flags %u", flags);
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  static uint64_t next_id = 0;
  *stream = new CUstream_st;
  (*stream)->id = ++next_id;
  (*stream)->device = current_device();
  (*stream)->deferred = (flags & cudaStreamNonBlocking) != 0;
  if ((*stream)->deferred) deferring_streams()[(*stream)->id] = *stream;
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  const cudaError_t status = run_all(stream);  // CUDA finishes a destroyed stream's work
  deferring_streams().erase(stream->id);
  delete stream;
  return status;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  return stream ? run_all(stream) : cudaDeviceSynchronize();
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  if (flags != 0) return fail(cudaErrorInvalidValue, "cudaStreamWaitEvent: flags %u", flags);
  // The default stream runs at once, so it waits now. A deferring stream's later work would
  // follow the event's: running that now too is early, never out of order. An event never
  // recorded is complete (waiting for it waits for nothing), as on a GPU.
  (void)stream;
  return run_until(event);
}

cudaError_t cudaEventCreate(cudaEvent_t* event) {
  *event = new CUevent_st;
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int flags) {
  if ((flags & ~static_cast<unsigned>(cudaEventDisableTiming)) != 0)
    return fail(cudaErrorInvalidValue, "cudaEventCreateWithFlags: flags %u", flags);
  return cudaEventCreate(event);
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  event->when = std::chrono::steady_clock::now();
  event->recorded = true;
  event->stream = stream && stream->deferred ? stream->id : 0;
  event->after = event->stream ? stream->issued : 0;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  return run_until(event);
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t stop) {
  if (!start->recorded || !stop->recorded)
    return fail(cudaErrorInvalidResourceHandle, "cudaEventElapsedTime: an event not recorded");
  *ms = std::chrono::duration<float, std::milli>(stop->when - start->when).count();
  return cudaSuccess;
}
