#include "runtime/thread_pool.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdlib>

#include "runtime/cpu_count.h"

namespace mova {
namespace {

thread_local bool t_inside_pool = false;

// How long an idle thread spins before it sleeps: MOVA_SPIN_US, default 50 µs (longer than a
// futex wake-up, short enough that a pool idle between passes costs nothing that matters).
int64_t spin_nanoseconds() {
  const char* v = std::getenv("MOVA_SPIN_US");
  if (!v || !*v) return 50'000;
  char* end = nullptr;
  const long us = std::strtol(v, &end, 10);
  return *end || us < 0 ? 50'000 : std::min<int64_t>(us, 10'000) * 1000;
}

// Spins until done() or `ns` have passed (the caller then waits on its condition variable).
template <typename Done>
void spin_until(int64_t ns, Done done) {
  if (ns <= 0) return;
  const auto end = std::chrono::steady_clock::now() + std::chrono::nanoseconds(ns);
  do {
    for (int i = 0; i < 64; ++i) {
      if (done()) return;
#if defined(__x86_64__)
      _mm_pause();
#endif
    }
  } while (std::chrono::steady_clock::now() < end);
}

}  // namespace

int ThreadPool::hardware_threads() {
  static const int cpus = available_cpus();  // reads /sys: once
  return cpus;
}

ThreadPool::ThreadPool(int threads) {
  if (threads <= 0) threads = hardware_threads();
  // More threads than CPUs to run them: a spinning thread would take a CPU from one with work.
  spin_ns_ = threads <= hardware_threads() ? spin_nanoseconds() : 0;
  for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    ++generation_;  // ends the spinning too
  }
  wake_.notify_all();
  for (auto& w : workers_) w.join();
}

// Claims tasks of the current job until none are left. Called with mutex_ held.
void ThreadPool::run_job() {
  while (next_task_ < job_tasks_) {
    const int task = next_task_++;
    const auto* job = job_;
    mutex_.unlock();
    std::exception_ptr err;
    try {
      (*job)(task);
    } catch (...) {
      err = std::current_exception();
    }
    mutex_.lock();
    if (err && !error_) error_ = err;
    if (--pending_ == 0) done_.notify_all();
  }
}

void ThreadPool::worker_loop(int /*worker_index*/) {
  t_inside_pool = true;
  uint64_t seen = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    if (generation_ == seen) {
      lock.unlock();
      spin_until(spin_ns_, [&] { return generation_.load(std::memory_order_acquire) != seen; });
      lock.lock();
    }
    wake_.wait(lock, [&] { return stopping_ || generation_ != seen; });
    if (stopping_) return;
    seen = generation_;
    run_job();
  }
}

void ThreadPool::run_tasks(int tasks, const std::function<void(int)>& fn) {
  if (tasks <= 0) return;
  if (tasks == 1 || workers_.empty() || t_inside_pool) {
    for (int i = 0; i < tasks; ++i) fn(i);
    return;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  // Jobs from different caller threads are serialised: one job at a time, from installing it
  // to taking its error (pending_ == 0 alone is not enough: the owner may still be spinning
  // towards its error when the last task ends).
  done_.wait(lock, [&] { return !busy_; });
  busy_ = true;
  job_ = &fn;
  job_tasks_ = tasks;
  next_task_ = 0;
  pending_ = tasks;
  error_ = nullptr;
  ++generation_;
  wake_.notify_all();
  t_inside_pool = true;
  run_job();
  t_inside_pool = false;
  if (pending_ != 0) {  // the workers' last tasks are still running
    lock.unlock();
    spin_until(spin_ns_, [&] { return pending_.load(std::memory_order_acquire) == 0; });
    lock.lock();
  }
  done_.wait(lock, [&] { return pending_ == 0; });
  job_ = nullptr;
  std::exception_ptr err = error_;
  error_ = nullptr;
  busy_ = false;
  lock.unlock();
  done_.notify_all();
  if (err) std::rethrow_exception(err);
}

void ThreadPool::parallel_for(int64_t n, int64_t grain,
                              const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  const int64_t max_chunks = (n + grain - 1) / grain;
  const int chunks = static_cast<int>(std::min<int64_t>(max_chunks, size()));
  if (chunks <= 1) {
    fn(0, n);
    return;
  }
  run_tasks(chunks, [&](int c) {
    const int64_t begin = n * c / chunks;
    const int64_t end = n * (c + 1) / chunks;
    if (begin < end) fn(begin, end);
  });
}

}  // namespace mova
