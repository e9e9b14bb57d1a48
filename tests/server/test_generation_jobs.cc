// The job queue of `mova serve` (apps/server/generation_jobs.h) with a stand-in generation that
// the test lets finish: order, progress, the queue limit, cancelling, failing, forgetting,
// eviction and shutdown.
#include "server/generation_jobs.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace mova::server {
namespace {

using namespace std::chrono_literals;

// A generation that starts, reports a step, reports one more each time the test advances its
// prompt, and finishes only once the test releases it (or stops when told to abort, unless its
// prompt begins with "deaf"). A prompt beginning with "fail" fails.
class StandIn {
 public:
  GenerationJobs::Runner runner() {
    return [this](const GenerateRequest& r, const std::string& path, const ProgressFn& progress,
                  const AbortFn& abort, std::vector<StageTime>& timings) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        started_.push_back(r.prompt);
      }
      progress({"denoise", 1, 2, 0.0});
      int64_t reported = 0;
      for (;;) {
        if (r.prompt.rfind("deaf", 0) != 0 && abort())
          throw Error(ErrorKind::kAborted, "generation aborted by the caller");
        std::unique_lock<std::mutex> lock(mutex_);
        if (released_.count(r.prompt)) break;
        if (advances_[r.prompt] > reported) {
          ++reported;
          lock.unlock();
          progress({"denoise", 1 + reported, 2 + reported, 0.0});
          continue;
        }
        changed_.wait_for(lock, 2ms);
      }
      if (r.prompt.rfind("fail", 0) == 0) fail(ErrorKind::kInvalidArgument, "--frames 4: bad");
      std::ofstream(path) << "mp4 of " << r.prompt;
      timings = {{"denoise", 0.25, -1}};
    };
  }
  void release(const std::string& prompt) {
    std::lock_guard<std::mutex> lock(mutex_);
    released_.insert(prompt);
    changed_.notify_all();
  }
  void advance(const std::string& prompt) {
    std::lock_guard<std::mutex> lock(mutex_);
    ++advances_[prompt];
    changed_.notify_all();
  }
  std::vector<std::string> started() {
    std::lock_guard<std::mutex> lock(mutex_);
    return started_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> started_;
  std::set<std::string> released_;
  std::map<std::string, int64_t> advances_;
};

GenerateRequest request(const std::string& prompt) {
  GenerateRequest r;
  r.prompt = prompt;
  r.steps = 2;
  return r;
}

// Waits (up to 20 s) until job `id` is in `state`; its view then.
JobView wait_for(const GenerationJobs& jobs, const std::string& id, JobState state) {
  const auto end = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    const std::optional<JobView> v = jobs.find(id);
    if (v && v->state == state) return *v;
    if (std::chrono::steady_clock::now() > end) {
      ADD_FAILURE() << "job " << id << " never became " << job_state_name(state) << " (it is "
                    << (v ? job_state_name(v->state) : "gone") << ")";
      return v.value_or(JobView{});
    }
    std::this_thread::sleep_for(1ms);
  }
}

// Waits (up to 20 s) until job `id` has reported at least `step` denoising steps; its view then
// (the test's own assertions say whether it got there).
JobView wait_for_step(const GenerationJobs& jobs, const std::string& id, int64_t step) {
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (jobs.find(id)->step < step && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(1ms);
  return *jobs.find(id);
}

// Submits `prompt` and waits until it runs.
JobView start(GenerationJobs& jobs, const std::string& prompt) {
  const std::optional<JobView> v = jobs.submit(request(prompt), "");
  if (!v) {
    ADD_FAILURE() << "the queue refused " << prompt;
    return {};
  }
  return wait_for(jobs, v->id, JobState::kRunning);
}

std::string contents(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(GenerationJobs, RunsJobsInOrderReportingProgress) {
  test::TempDir dir;
  StandIn gen;
  GenerationJobs jobs({dir.str(), 16, 100}, gen.runner());
  const JobView a = *jobs.submit(request("a"), "settings a");
  const JobView b = *jobs.submit(request("b"), "settings b");
  EXPECT_EQ(a.state, JobState::kQueued);
  EXPECT_EQ(a.id.size(), 16u);
  EXPECT_NE(a.id, b.id);
  EXPECT_EQ(b.settings, "settings b");

  const JobView running = wait_for(jobs, a.id, JobState::kRunning);
  EXPECT_EQ(running.queue_position, 0u);
  EXPECT_EQ(jobs.find(b.id)->queue_position, 1u);
  EXPECT_EQ(jobs.queued(), 1u);
  EXPECT_TRUE(jobs.busy());
  const JobView progress = wait_for_step(jobs, a.id, 1);
  EXPECT_EQ(progress.stage, "denoise");
  EXPECT_EQ(progress.step, 1);
  EXPECT_EQ(progress.steps, 2);

  gen.release("a");
  const JobView done = wait_for(jobs, a.id, JobState::kDone);
  EXPECT_EQ(contents(done.video_path), "mp4 of a");
  EXPECT_EQ(std::filesystem::path(done.video_path).parent_path(), dir.str());
  ASSERT_EQ(done.timings.size(), 1u);
  EXPECT_EQ(done.timings[0].name, "denoise");
  EXPECT_TRUE(done.error.empty());
  wait_for(jobs, b.id, JobState::kRunning);
  gen.release("b");
  wait_for(jobs, b.id, JobState::kDone);
  EXPECT_EQ(gen.started(), (std::vector<std::string>{"a", "b"}));
  const std::vector<JobView> all = jobs.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, a.id);
  EXPECT_EQ(all[1].id, b.id);
  EXPECT_FALSE(jobs.busy());
}

TEST(GenerationJobs, RefusesSubmissionsBeyondTheQueueLimit) {
  test::TempDir dir;
  StandIn gen;
  GenerationJobs jobs({dir.str(), 1, 100}, gen.runner());
  start(jobs, "a");  // the running job does not count as waiting
  ASSERT_TRUE(jobs.submit(request("b"), ""));
  EXPECT_FALSE(jobs.submit(request("c"), ""));
  gen.release("a");
  gen.release("b");
}

TEST(GenerationJobs, CancelsQueuedJobsAtOnceAndRunningOnesAtTheirNextStep) {
  test::TempDir dir;
  StandIn gen;
  GenerationJobs jobs({dir.str(), 16, 100}, gen.runner());
  const JobView a = *jobs.submit(request("a"), "");
  const JobView b = *jobs.submit(request("b"), "");
  wait_for(jobs, a.id, JobState::kRunning);

  const JobView b_cancelled = *jobs.cancel_or_forget(b.id);
  EXPECT_EQ(b_cancelled.state, JobState::kCancelled);
  EXPECT_EQ(b_cancelled.queue_position, 0u);
  EXPECT_EQ(jobs.queued(), 0u);

  const JobView a_told = *jobs.cancel_or_forget(a.id);
  EXPECT_TRUE(a_told.cancel_requested);
  const JobView a_cancelled = wait_for(jobs, a.id, JobState::kCancelled);
  EXPECT_NE(a_cancelled.error.find("aborted"), std::string::npos);
  EXPECT_EQ(a_cancelled.error_kind, ErrorKind::kAborted);
  EXPECT_TRUE(a_cancelled.video_path.empty());
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(gen.started(), std::vector<std::string>{"a"});  // b never ran

  // Cancelled jobs are forgotten by a second DELETE.
  EXPECT_TRUE(jobs.cancel_or_forget(b.id));
  EXPECT_FALSE(jobs.find(b.id));
  EXPECT_FALSE(jobs.cancel_or_forget("0000000000000000"));
}

TEST(GenerationJobs, FailedJobsSayWhyAndForgottenJobsLoseTheirVideo) {
  test::TempDir dir;
  StandIn gen;
  gen.release("fail");
  gen.release("ok");
  GenerationJobs jobs({dir.str(), 16, 100}, gen.runner());
  const JobView bad = *jobs.submit(request("fail"), "");
  const JobView good = *jobs.submit(request("ok"), "");
  const JobView failed = wait_for(jobs, bad.id, JobState::kFailed);
  EXPECT_EQ(failed.error, "--frames 4: bad");
  EXPECT_EQ(failed.error_kind, ErrorKind::kInvalidArgument);
  const JobView done = wait_for(jobs, good.id, JobState::kDone);
  ASSERT_TRUE(std::filesystem::exists(done.video_path));

  EXPECT_EQ(jobs.cancel_or_forget(good.id)->state, JobState::kDone);
  EXPECT_FALSE(std::filesystem::exists(done.video_path));
  EXPECT_FALSE(jobs.find(good.id));
  EXPECT_EQ(jobs.list().size(), 1u);
}

TEST(GenerationJobs, ForgetsTheOldestFinishedJobsBeyondTheLimit) {
  test::TempDir dir;
  StandIn gen;
  for (const char* p : {"a", "b", "c"}) gen.release(p);
  GenerationJobs jobs({dir.str(), 16, 2}, gen.runner());
  const JobView a = *jobs.submit(request("a"), "");
  const std::string a_path = wait_for(jobs, a.id, JobState::kDone).video_path;
  const JobView b = *jobs.submit(request("b"), "");
  wait_for(jobs, b.id, JobState::kDone);
  EXPECT_TRUE(std::filesystem::exists(a_path));
  const JobView c = *jobs.submit(request("c"), "");
  wait_for(jobs, c.id, JobState::kDone);
  EXPECT_FALSE(jobs.find(a.id));
  EXPECT_FALSE(std::filesystem::exists(a_path));
  ASSERT_EQ(jobs.list().size(), 2u);
  EXPECT_EQ(jobs.list()[0].id, b.id);
}

TEST(GenerationJobs, CancelledJobsCountTowardsTheLimitOfFinishedOnes) {
  test::TempDir dir;
  StandIn gen;
  GenerationJobs jobs({dir.str(), 16, 1}, gen.runner());
  const JobView a = start(jobs, "a");
  // Submitting and cancelling while a job runs must not pile jobs up.
  std::string last;
  for (int i = 0; i < 5; ++i) {
    last = jobs.submit(request("b"), "")->id;
    EXPECT_EQ(jobs.cancel_or_forget(last)->state, JobState::kCancelled);
  }
  const std::vector<JobView> all = jobs.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, a.id);
  EXPECT_EQ(all[1].id, last);
  gen.release("a");
}

TEST(GenerationJobs, StopReturnsAtOnceAndShutdownWaitsForTheWorker) {
  test::TempDir dir;
  StandIn gen;
  GenerationJobs jobs({dir.str(), 16, 100}, gen.runner());
  const JobView a = start(jobs, "a");
  jobs.stop();
  EXPECT_FALSE(jobs.submit(request("b"), ""));
  wait_for(jobs, a.id, JobState::kCancelled);  // at its next look at abort()
  jobs.shutdown();
}

TEST(GenerationJobs, StopDoesNotWaitForTheRunningJob) {
  test::TempDir dir;
  StandIn gen;
  GenerationJobs jobs({dir.str(), 16, 100}, gen.runner());
  const JobView a = start(jobs, "deaf a");  // does not look at abort() until released
  auto stopping = std::async(std::launch::async, [&] { jobs.stop(); });
  const bool returned = stopping.wait_for(10s) == std::future_status::ready;
  EXPECT_TRUE(returned);
  EXPECT_EQ(jobs.find(a.id)->state, JobState::kRunning);
  gen.release("deaf a");
  jobs.shutdown();  // waits for the worker, which now finishes the job
  EXPECT_EQ(jobs.find(a.id)->state, JobState::kDone);
}

TEST(GenerationJobs, ShutdownCancelsWaitingJobsAndStopsTheRunningOne) {
  test::TempDir dir;
  StandIn gen;
  GenerationJobs jobs({dir.str(), 16, 100}, gen.runner());
  const JobView a = *jobs.submit(request("a"), "");
  const JobView b = *jobs.submit(request("b"), "");
  wait_for(jobs, a.id, JobState::kRunning);
  jobs.shutdown();
  EXPECT_EQ(jobs.find(a.id)->state, JobState::kCancelled);
  EXPECT_EQ(jobs.find(b.id)->state, JobState::kCancelled);
  EXPECT_FALSE(jobs.submit(request("c"), ""));
  jobs.shutdown();  // again: nothing left to do
}

// What a GET /v1/jobs/{id}?wait=S long-poll rests on.
TEST(GenerationJobs, WaitForChangeAnswersAtTheNextChangeOrTheTimeout) {
  test::TempDir dir;
  StandIn gen;
  GenerationJobs jobs({dir.str(), 16, 100}, gen.runner());
  const JobView a = start(jobs, "a");
  const JobView seen = wait_for_step(jobs, a.id, 1);
  ASSERT_EQ(seen.step, 1);

  // Nothing new: the view as it is, once the timeout has passed.
  EXPECT_EQ(jobs.wait_for_change(a.id, seen.revision, 0ms)->revision, seen.revision);
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(jobs.wait_for_change(a.id, seen.revision, 50ms)->revision, seen.revision);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 50ms);
  // A revision the client has not seen yet: at once.
  EXPECT_EQ(jobs.wait_for_change(a.id, seen.revision - 1, 20s)->revision, seen.revision);

  // A step answers a waiting client.
  auto next = std::async(std::launch::async,
                         [&] { return jobs.wait_for_change(a.id, seen.revision, 20s); });
  EXPECT_EQ(next.wait_for(50ms), std::future_status::timeout);
  gen.advance("a");
  ASSERT_EQ(next.wait_for(10s), std::future_status::ready);  // well before its 20 s timeout
  const JobView stepped = *next.get();
  EXPECT_EQ(stepped.step, 2);
  EXPECT_EQ(stepped.steps, 3);
  EXPECT_GT(stepped.revision, seen.revision);

  // A queued job changes when its place in the queue does: not when a job behind it is
  // cancelled, but when one ahead of it is.
  const JobView b = *jobs.submit(request("b"), "");
  const JobView c = *jobs.submit(request("c"), "");
  const JobView d = *jobs.submit(request("d"), "");
  const uint64_t b_seen = jobs.find(b.id)->revision, d_seen = jobs.find(d.id)->revision;
  auto d_moved =
      std::async(std::launch::async, [&] { return jobs.wait_for_change(d.id, d_seen, 20s); });
  EXPECT_EQ(d_moved.wait_for(50ms), std::future_status::timeout);
  jobs.cancel_or_forget(c.id);
  ASSERT_EQ(d_moved.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(d_moved.get()->queue_position, 2u);
  EXPECT_EQ(jobs.wait_for_change(b.id, b_seen, 0ms)->revision, b_seen);
  jobs.cancel_or_forget(d.id);

  // ... and when it starts.
  auto b_moved =
      std::async(std::launch::async, [&] { return jobs.wait_for_change(b.id, b.revision, 20s); });
  EXPECT_EQ(b_moved.wait_for(50ms), std::future_status::timeout);
  gen.release("a");
  ASSERT_EQ(b_moved.wait_for(10s), std::future_status::ready);
  const JobView b_next = *b_moved.get();
  EXPECT_GT(b_next.revision, b.revision);
  EXPECT_NE(b_next.state, JobState::kQueued);

  // A finished job will not change again: its view at once, whatever revision is asked for.
  const JobView a_done = wait_for(jobs, a.id, JobState::kDone);
  EXPECT_EQ(jobs.wait_for_change(a.id, a_done.revision + 100, 20s)->state, JobState::kDone);
  EXPECT_FALSE(jobs.wait_for_change("0000000000000000", 0, 20s));
  jobs.cancel_or_forget(c.id);  // forgotten: no such job any more
  EXPECT_FALSE(jobs.wait_for_change(c.id, 0, 20s));
  gen.release("b");
}

TEST(GenerationJobs, StopAnswersClientsWaitingForChanges) {
  test::TempDir dir;
  StandIn gen;
  GenerationJobs jobs({dir.str(), 16, 100}, gen.runner());
  const JobView a = start(jobs, "deaf a");  // stays running after stop()
  // The stand-in reports its first step just after it starts running: take the revision after
  // that report, or the waiter below is answered by it instead of by stop().
  ASSERT_EQ(wait_for_step(jobs, a.id, 1).step, 1);
  const uint64_t now = jobs.find(a.id)->revision;
  auto waiting =
      std::async(std::launch::async, [&] { return jobs.wait_for_change(a.id, now, 60s); });
  EXPECT_EQ(waiting.wait_for(50ms), std::future_status::timeout);
  jobs.stop();
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  EXPECT_EQ(waiting.get()->state, JobState::kRunning);
  gen.release("deaf a");
}

TEST(GenerationJobs, NeedsAnExistingOutputFolder) {
  StandIn gen;
  test::expect_error(
      [&] {
        GenerationJobs({"/nonexistent/mova", 16, 100}, gen.runner());
      },
      {"output folder /nonexistent/mova does not exist"});
}

}  // namespace
}  // namespace mova::server
