#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

#include "runtime/thread_pool.h"

namespace mova {
namespace {

TEST(ThreadPool, CoversRangeExactlyOnce) {
  ThreadPool pool(4);
  EXPECT_EQ(pool.size(), 4);
  for (int64_t n : {0, 1, 3, 17, 1000}) {
    std::vector<std::atomic<int>> hits(n);
    pool.parallel_for(n, 1, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[i]++;
    });
    for (int64_t i = 0; i < n; ++i) EXPECT_EQ(hits[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(3);
  std::atomic<int64_t> total{0};
  pool.parallel_for(6, 1, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i)
      pool.parallel_for(10, 1, [&](int64_t b2, int64_t e2) { total += e2 - b2; });
  });
  EXPECT_EQ(total.load(), 60);
}

TEST(ThreadPool, RethrowsWorkerExceptions) {
  ThreadPool pool(2);
  EXPECT_THROW(pool.run_tasks(8,
                              [](int t) {
                                if (t == 5) throw std::runtime_error("task 5 failed");
                              }),
               std::runtime_error);
  // The pool still works afterwards.
  std::atomic<int> n{0};
  pool.run_tasks(8, [&](int) { n++; });
  EXPECT_EQ(n.load(), 8);
}

TEST(ThreadPool, ManySmallJobs) {
  ThreadPool pool(2);
  int64_t sum = 0;
  for (int j = 0; j < 2000; ++j) {
    std::atomic<int64_t> s{0};
    pool.parallel_for(64, 1, [&](int64_t b, int64_t e) { s += e - b; });
    sum += s.load();
  }
  EXPECT_EQ(sum, 2000 * 64);
}

// Whether idle threads spin (MOVA_SPIN_US: never, briefly, long) or sleep, every job's tasks
// run once and their plain writes are seen by the caller; pauses between jobs let the workers
// fall asleep, and a pool destroyed while its workers spin stops.
TEST(ThreadPool, SpinningOrSleepingWorkersRunEveryJob) {
  for (const char* spin : {"0", "50", "10000"}) {
    ::setenv("MOVA_SPIN_US", spin, 1);
    {
      ThreadPool pool(2);
      std::vector<int64_t> out(64);
      for (int j = 0; j < 300; ++j) {
        pool.parallel_for(64, 1, [&](int64_t b, int64_t e) {
          for (int64_t i = b; i < e; ++i) out[i] = j * 1000 + i;
        });
        for (int64_t i = 0; i < 64; ++i) ASSERT_EQ(out[i], j * 1000 + i) << "spin " << spin;
        if (j % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    ::unsetenv("MOVA_SPIN_US");
  }
}

}  // namespace
}  // namespace mova
