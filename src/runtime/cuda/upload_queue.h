// Host-to-device copies beside the compute queue: what lets streamed weights arrive while the
// previous block computes (Backend::begin_upload, io/device_weight_cache.h).
//
// A worker thread copies each host tensor through small pinned staging buffers to a stream of
// its own (non-blocking, so the legacy default stream that every op runs on neither waits for
// it nor is waited for). A copy straight from pageable memory (the memory-mapped checkpoint)
// would wait for the copy stream to drain and serialise with the ops; the staging memcpy runs
// on the worker instead, which also takes the checkpoint's page faults off the thread that
// queues ops. Ordering, both ways, through events:
//   - before writing, the copy stream waits for the compute work queued when the upload began
//     (its destination comes from the pool and may have been an activation still in use);
//   - finish() makes the compute stream wait for the copy's last chunk; an upload dropped
//     unfinished does the same before its memory returns to the pool.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>

#include <cuda_runtime_api.h>

#include "runtime/backend.h"

namespace mova::cuda {

class UploadQueue {
 public:
  // `staging_bytes` per buffer, `buffers` of them (one is filled while another is copied).
  UploadQueue(int device, BufferPool& pool, size_t staging_bytes = size_t{32} << 20,
              int buffers = 2);
  ~UploadQueue();
  UploadQueue(const UploadQueue&) = delete;
  UploadQueue& operator=(const UploadQueue&) = delete;

  // Null when the queue cannot run (no pinned memory or thread): the caller copies at once.
  // Dropping the upload unfinished skips what of it is not yet on the copy stream.
  std::unique_ptr<Backend::PendingUpload> begin(const Tensor& host);
  // Waits (on the host) until every upload begun so far is on the copy stream or skipped.
  void wait_queued();

  struct Job;

 private:
  bool start();  // staging buffers, stream and worker, on first use
  void work();

  int device_;
  BufferPool& pool_;
  size_t staging_bytes_;
  int buffers_;
  std::mutex start_mutex_;
  bool started_ = false, unusable_ = false;  // under start_mutex_
  cudaStream_t stream_ = nullptr;
  struct Staging {
    void* host = nullptr;  // pinned
    cudaEvent_t drained = nullptr;
    bool in_use = false;  // `drained` was recorded and may still be pending
  };
  std::deque<Staging> staging_;
  std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<std::shared_ptr<Job>> jobs_;
  bool busy_ = false;  // the worker holds a job
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace mova::cuda
