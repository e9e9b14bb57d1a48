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
#include <memory>
#include <vector>

#include "emulator.h"

struct CUstream_st {
  uint64_t id = 0;
  int device = 0;
  bool deferred = false;                             // created with cudaStreamNonBlocking
  uint64_t issued = 0;                               // work items queued so far
  uint64_t done = 0;                                 // of them, run
  std::deque<std::function<cudaError_t()>> waiting;  // items done + 1 .. issued
  uint64_t waited_stamp = 0;  // the default-stream work it waited for (touched_on_default_stream)
};
struct CUevent_st {
  std::chrono::steady_clock::time_point when;
  bool recorded = false;
  uint64_t stream = 0;         // the id of a deferring stream it was recorded on, else 0
  uint64_t after = 0;          // the work items of that stream it follows
  uint64_t default_stamp = 0;  // recorded on the default stream: the stamps it follows
};

using namespace mova::cuda_emulator;

namespace {

// By id: an event may outlive its stream (then it is complete).
std::map<uint64_t, cudaStream_t>& deferring_streams() {
  static std::map<uint64_t, cudaStream_t> streams;
  return streams;
}

// Allocation start -> its last default-stream stamp.
std::map<const char*, uint64_t>& stamps() {
  static std::map<const char*, uint64_t> s;
  return s;
}
uint64_t stamp_count = 0;

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

void mova::cuda_emulator::touched_on_default_stream(const void* p) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  if (const auto a = find_allocation(p, 0)) stamps()[a->begin] = ++stamp_count;
}

void mova::cuda_emulator::forget_default_stream_touches(const void* allocation) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  stamps().erase(static_cast<const char*>(allocation));
}

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
  if (!stream || !stream->deferred) return checked_copy("cudaMemcpyAsync", dst, src, bytes, kind);
  if (bytes == 0) return cudaSuccess;
  // Beside the default stream: its destination must not be memory that default-stream work
  // queued after the last event this stream waited for still uses.
  if (const auto a = find_allocation(dst, bytes)) {
    const auto it = stamps().find(a->begin);
    if (it != stamps().end() && it->second > stream->waited_stamp)
      return fail(cudaErrorInvalidValue,
                  "cudaMemcpyAsync on a non-blocking stream: its destination %p is memory that "
                  "default-stream work queued after the last default-stream event this stream "
                  "waited for used; on a GPU the copy can run before that work",
                  dst);
  }
  const char* what = "cudaMemcpyAsync on a non-blocking stream (run when waited for)";
  if (is_pinned(src, bytes)) {
    stream->waiting.emplace_back(
        [=] { return checked_copy(what, dst, src, bytes, kind, /*default_stream=*/false); });
  } else if (!stream->waiting.empty()) {
    // Pageable memory is read at the call (CUDA stages it), the copy itself runs in order.
    const auto* s = static_cast<const char*>(src);
    auto staged = std::make_shared<std::vector<char>>(s, s + bytes);
    stream->waiting.emplace_back([=] {
      return checked_copy(what, dst, staged->data(), bytes, kind, /*default_stream=*/false);
    });
  } else {
    return checked_copy(what, dst, src, bytes, kind, /*default_stream=*/false);
  }
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
  // The default stream's work is done already; syncing it does not wait for non-blocking ones.
  return stream ? run_all(stream) : cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  if (flags != 0) return fail(cudaErrorInvalidValue, "cudaStreamWaitEvent: flags %u", flags);
  // The default stream runs at once, so it waits now. A deferring stream's later work would
  // follow the event's: running that now too is early, never out of order. An event never
  // recorded is complete (waiting for it waits for nothing), as on a GPU.
  if (stream && stream->deferred && event->recorded && event->stream == 0)
    stream->waited_stamp = std::max(stream->waited_stamp, event->default_stamp);
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
  event->default_stamp = event->stream ? 0 : stamp_count;
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
