#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "runtime/cpu_count.h"
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

// Sets an environment variable for a scope, then puts back what was there.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_.empty())
      ::unsetenv(name_);
    else
      ::setenv(name_, old_.c_str(), 1);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::string old_;
};

// Whether idle threads spin (MOVA_SPIN_US: never, briefly, long) or sleep, every job's tasks
// run once and their plain writes are seen by the caller; pauses between jobs let the workers
// fall asleep, and the pool is destroyed while its workers may be spinning.
TEST(ThreadPool, SpinningOrSleepingWorkersRunEveryJob) {
  for (const char* spin : {"0", "50", "10000"}) {
    const ScopedEnv env("MOVA_SPIN_US", spin);
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
  }
}

// Two threads giving one pool jobs at once: each gets its own job's exception and never the
// other's (the owner of a job may still be spinning towards its result when its last task
// ends; the other caller must not install a job in between).
TEST(ThreadPool, ConcurrentCallersEachGetTheirOwnErrors) {
  ThreadPool pool(2);
  std::atomic<int> wrong{0};
  auto caller = [&](bool throws) {
    for (int j = 0; j < 2000; ++j) {
      const bool expect = throws && j % 2 == 0;
      try {
        pool.run_tasks(2, [&](int t) {
          // Tasks of unequal length: the caller ends its task first and waits for the other.
          const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(20 * t);
          while (std::chrono::steady_clock::now() < until) {
          }
          if (expect && t == 1) throw std::runtime_error(throws ? "a" : "b");
        });
        if (expect) ++wrong;
      } catch (const std::runtime_error& e) {
        if (!expect || std::string(e.what()) != "a") ++wrong;
      }
    }
  };
  std::thread a(caller, true), b(caller, false);
  a.join();
  b.join();
  EXPECT_EQ(wrong.load(), 0);
}

// CPU quotas as cgroups state them: v2's cpu.max, v1's CFS quota and period (µs).
TEST(CpuCount, QuotasRoundUpAndUnlimitedIsNone) {
  EXPECT_EQ(cpus_from_cpu_max("200000 100000\n"), 2);
  EXPECT_EQ(cpus_from_cpu_max("150000 100000"), 2);  // 1.5 CPUs: two threads, each part-time
  EXPECT_EQ(cpus_from_cpu_max("50000 100000"), 1);
  EXPECT_EQ(cpus_from_cpu_max("max 100000\n"), std::nullopt);
  EXPECT_EQ(cpus_from_cpu_max(""), std::nullopt);
  EXPECT_EQ(cpus_from_cpu_max("garbage"), std::nullopt);
  EXPECT_EQ(cpus_from_cpu_max("0 100000"), std::nullopt);
  EXPECT_EQ(cpus_from_cfs("400000\n", "100000\n"), 4);
  EXPECT_EQ(cpus_from_cfs("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(cpus_from_cfs("", ""), std::nullopt);
  EXPECT_EQ(cgroup_path("0::/system.slice/mova.service\n", ""), "/system.slice/mova.service");
  const char* hybrid = "12:cpu,cpuacct:/docker/ab\n3:cpuset:/c\n0::/user.slice/x\n";
  EXPECT_EQ(cgroup_path(hybrid, ""), "/user.slice/x");
  EXPECT_EQ(cgroup_path(hybrid, "cpu"), "/docker/ab");
  EXPECT_EQ(cgroup_path(hybrid, "cpuacct"), "/docker/ab");
  EXPECT_EQ(cgroup_path("0::/\n", ""), "");
  EXPECT_EQ(cgroup_path("9:name=systemd:/\n8:pids:/x\n", "cpu"), "");
  EXPECT_EQ(cgroup_path("0::/../escape\n", ""), "");
  EXPECT_GE(available_cpus(), 1);
  EXPECT_LE(available_cpus(), static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace mova
