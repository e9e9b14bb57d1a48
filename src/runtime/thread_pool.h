// One pool of worker threads, owned by whoever runs the computation (a context, a test) and
// passed down explicitly: no global pool. parallel_for splits an index range into contiguous
// chunks; the calling thread works too. A parallel_for issued from inside a worker runs inline,
// so nested parallelism never deadlocks.
//
// A model's forward pass is thousands of short jobs in a row. Waking a sleeping thread through
// the kernel takes longer than many of them, so between jobs the workers, and the caller waiting
// for the last task, first spin for a few tens of microseconds (MOVA_SPIN_US, 0 to never spin)
// and only then sleep.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace mova {

class ThreadPool {
 public:
  // threads <= 0 means hardware_threads().
  explicit ThreadPool(int threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return static_cast<int>(workers_.size()) + 1; }

  // Calls fn(begin, end) over disjoint chunks covering [0, n). `grain` is the smallest chunk
  // worth handing to another thread. Exceptions from fn are rethrown in the caller.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn);

  // Runs fn(task_index) for task_index in [0, tasks), one task per call.
  void run_tasks(int tasks, const std::function<void(int)>& fn);

  // The CPUs this process may use (runtime/cpu_count.h).
  static int hardware_threads();

 private:
  void worker_loop(int worker_index);
  void run_job();

  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  // Written under mutex_; atomic so that a spinning thread may read them without it.
  std::atomic<uint64_t> generation_{0};  // bumped for each job, and to stop
  std::atomic<int> pending_{0};          // tasks of the current job not finished
  bool stopping_ = false;
  bool busy_ = false;  // a caller's job is installed and its error not yet taken
  // Current job, valid while pending_ > 0.
  const std::function<void(int)>* job_ = nullptr;
  int job_tasks_ = 0;
  int next_task_ = 0;
  std::exception_ptr error_;
  int64_t spin_ns_ = 0;
};

}  // namespace mova
