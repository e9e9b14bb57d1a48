#include "runtime/cuda/upload_queue.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <utility>

#include "runtime/cuda/cuda_check.h"
#include "runtime/log.h"

namespace mova::cuda {

struct UploadQueue::Job {
  Tensor host;  // released once its bytes are in staging memory
  // The destination, held by the QueuedUpload (so its memory returns to the pool on the
  // thread that queues ops, and only after the compute stream was ordered after the copy).
  void* device = nullptr;
  cudaEvent_t may_write = nullptr;     // on the compute stream, when the upload began
  cudaEvent_t arrived = nullptr;       // on the copy stream, after the last chunk
  std::atomic<bool> cancelled{false};  // dropped unfinished: chunks not yet queued are skipped
  std::mutex mutex;
  std::condition_variable queued_cv;
  bool queued = false;  // every chunk is on the copy stream (or the copy failed)
  std::exception_ptr error;

  ~Job() {
    if (may_write) cudaEventDestroy(may_write);
    if (arrived) cudaEventDestroy(arrived);
  }
};

namespace {

class QueuedUpload final : public Backend::PendingUpload {
 public:
  QueuedUpload(std::shared_ptr<UploadQueue::Job> job, Tensor destination, int device)
      : job_(std::move(job)), destination_(std::move(destination)), device_(device) {}

  ~QueuedUpload() override {
    if (!job_) return;
    job_->cancelled = true;  // nobody reads it: what is not yet on the stream need not be
    try {
      order_after_copy();
    } catch (const std::exception& e) {  // a destructor reports nothing else
      MOVA_LOG_WARN("cuda:", device_, ": an unused weight upload failed: ", e.what());
    } catch (...) {
      MOVA_LOG_WARN("cuda:", device_, ": an unused weight upload failed");
    }
  }

  Tensor finish() override {
    MOVA_CHECK(job_ != nullptr, ErrorKind::kInternal, "upload finished twice");
    order_after_copy();  // on failure the job stays, for the destructor's ordering
    job_.reset();
    return std::move(destination_);
  }

 private:
  // Waits (on the host) until the worker has queued every chunk, then queues the compute
  // stream's wait for the last one: cudaStreamWaitEvent on an event not yet recorded would
  // wait for nothing.
  void order_after_copy() {
    UploadQueue::Job& job = *job_;
    {
      std::unique_lock<std::mutex> lock(job.mutex);
      job.queued_cv.wait(lock, [&] { return job.queued; });
    }
    if (job.error) std::rethrow_exception(job.error);
    MOVA_CUDA_CHECK(cudaSetDevice(device_));
    MOVA_CUDA_CHECK(cudaStreamWaitEvent(nullptr, job.arrived, 0));
  }

  std::shared_ptr<UploadQueue::Job> job_;
  Tensor destination_;  // declared after job_: released before it, after the ordering
  int device_;
};

}  // namespace

UploadQueue::UploadQueue(int device, BufferPool& pool, size_t staging_bytes, int buffers)
    : device_(device), pool_(pool), staging_bytes_(staging_bytes), buffers_(buffers) {
  MOVA_CHECK(staging_bytes > 0 && buffers > 0, ErrorKind::kInternal, "upload queue of ", buffers,
             " buffers of ", staging_bytes, " bytes");
}

UploadQueue::~UploadQueue() {
  if (worker_.joinable()) {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    worker_.join();  // after the jobs left in the queue are on the stream
  }
  cudaSetDevice(device_);
  if (stream_) cudaStreamSynchronize(stream_);
  for (Staging& s : staging_) {
    if (s.drained) cudaEventDestroy(s.drained);
    if (s.host) cudaFreeHost(s.host);
  }
  if (stream_) cudaStreamDestroy(stream_);
}

bool UploadQueue::start() {
  const std::lock_guard<std::mutex> lock(start_mutex_);  // uploads may begin on any thread
  if (started_ || unusable_) return started_;
  try {
    MOVA_CUDA_CHECK(cudaSetDevice(device_));
    MOVA_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    for (int i = 0; i < buffers_; ++i) {
      Staging& s = staging_.emplace_back();
      MOVA_CUDA_CHECK(cudaMallocHost(&s.host, staging_bytes_));
      MOVA_CUDA_CHECK(cudaEventCreateWithFlags(&s.drained, cudaEventDisableTiming));
    }
    worker_ = std::thread([this] { work(); });
  } catch (const std::exception& e) {
    MOVA_LOG_WARN("cuda:", device_, ": weights are uploaded without overlap: ", e.what());
    unusable_ = true;
    return false;
  }
  started_ = true;
  return true;
}

std::unique_ptr<Backend::PendingUpload> UploadQueue::begin(const Tensor& host) {
  if (!start()) return nullptr;
  auto job = std::make_shared<Job>();
  job->host = host.contiguous();
  Tensor destination = Tensor::empty(host.shape(), host.dtype(), &pool_);
  job->device = destination.raw_data();
  MOVA_CUDA_CHECK(cudaSetDevice(device_));
  MOVA_CUDA_CHECK(cudaEventCreateWithFlags(&job->may_write, cudaEventDisableTiming));
  MOVA_CUDA_CHECK(cudaEventCreateWithFlags(&job->arrived, cudaEventDisableTiming));
  MOVA_CUDA_CHECK(cudaEventRecord(job->may_write, nullptr));
  {
    const std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(job);
  }
  wake_.notify_one();
  return std::make_unique<QueuedUpload>(std::move(job), std::move(destination), device_);
}

void UploadQueue::work() {
  cudaSetDevice(device_);
  size_t next = 0;  // the staging buffer to fill next
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // stopping, with nothing left
      job = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
    }
    try {
      MOVA_CUDA_CHECK(cudaStreamWaitEvent(stream_, job->may_write, 0));
      const char* src = static_cast<const char*>(job->host.raw_data());
      char* dst = static_cast<char*>(job->device);
      const size_t bytes = job->host.nbytes();
      for (size_t offset = 0; offset < bytes && !job->cancelled;) {
        Staging& s = staging_[next];
        next = (next + 1) % staging_.size();
        if (s.in_use) MOVA_CUDA_CHECK(cudaEventSynchronize(s.drained));  // its copy is done
        const size_t n = std::min(staging_bytes_, bytes - offset);
        std::memcpy(s.host, src + offset, n);
        MOVA_CUDA_CHECK(cudaMemcpyAsync(dst + offset, s.host, n, cudaMemcpyHostToDevice, stream_));
        MOVA_CUDA_CHECK(cudaEventRecord(s.drained, stream_));
        s.in_use = true;
        offset += n;
      }
      MOVA_CUDA_CHECK(cudaEventRecord(job->arrived, stream_));
    } catch (...) {
      job->error = std::current_exception();
      cudaStreamSynchronize(stream_);  // nothing of a failed copy stays in flight
    }
    job->host = Tensor();
    {
      const std::lock_guard<std::mutex> lock(job->mutex);
      job->queued = true;
    }
    job->queued_cv.notify_all();
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      busy_ = false;
    }
    idle_.notify_all();
  }
}

void UploadQueue::wait_queued() {
  std::unique_lock<std::mutex> lock(mutex_);
  idle_.wait(lock, [&] { return jobs_.empty() && !busy_; });
}

}  // namespace mova::cuda
