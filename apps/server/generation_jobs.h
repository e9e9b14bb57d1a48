// The generation queue of `mova serve`: requests wait in order and one worker thread runs them
// one at a time (a generation already uses every core or the whole GPU), writing each clip to
// an MP4 in the output folder. Jobs are looked at, cancelled and forgotten by id.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "pipeline/generate.h"
#include "runtime/error.h"

namespace mova::server {

enum class JobState { kQueued, kRunning, kDone, kFailed, kCancelled };
const char* job_state_name(JobState state);  // "queued", "running", ...

// What a job is at one moment (copied out, so it stays valid while the job moves on).
struct JobView {
  std::string id;
  JobState state = JobState::kQueued;
  bool cancel_requested = false;  // running, told to stop at its next step
  size_t queue_position = 0;      // 1 = next to run; 0 unless queued
  std::string created;            // UTC, ISO 8601
  std::string prompt, settings;   // settings: generation_settings() of the resolved request
  std::string stage;              // the stage running or last run
  int64_t step = 0, steps = 0;    // denoising progress
  double seconds = 0;             // since it started running (its total once finished)
  std::vector<StageTime> timings;
  std::string error;  // why it failed
  ErrorKind error_kind = ErrorKind::kInternal;
  std::string video_path;  // the MP4, once done
  // Grows whenever anything above changes (queue position, stage, step, state); a client that
  // saw revision R waits for a view with a larger one (wait_for_change).
  uint64_t revision = 0;
};

class GenerationJobs {
 public:
  // Makes the clip of `request` and writes it to the MP4 `path`, reporting progress and
  // polling `abort` as Generator::run does; fills `timings` with the stages' times.
  using Runner = std::function<void(const GenerateRequest& request, const std::string& path,
                                    const ProgressFn& progress, const AbortFn& abort,
                                    std::vector<StageTime>& timings)>;
  struct Options {
    std::string output_dir;      // where each job's <id>.mp4 goes (must exist)
    size_t max_queued = 16;      // waiting jobs; a submission beyond is refused
    size_t keep_finished = 100;  // finished jobs remembered; the oldest beyond are forgotten
  };

  GenerationJobs(Options options, Runner runner);
  ~GenerationJobs();  // shutdown()
  GenerationJobs(const GenerationJobs&) = delete;
  GenerationJobs& operator=(const GenerationJobs&) = delete;

  // Queues a resolved request; nullopt when max_queued jobs are already waiting.
  std::optional<JobView> submit(GenerateRequest request, std::string settings);
  std::optional<JobView> find(const std::string& id) const;
  // The job once its revision exceeds `after`, once it is finished (nothing more will change),
  // once stop() was called, or at `timeout`, whichever comes first. nullopt: no such job (or it
  // was forgotten meanwhile).
  std::optional<JobView> wait_for_change(const std::string& id, uint64_t after,
                                         std::chrono::milliseconds timeout) const;
  std::vector<JobView> list() const;  // in submission order
  size_t queued() const;
  bool busy() const;  // a job is running

  // A queued job is cancelled at once; a running one is told to stop at its next step (its
  // state turns to cancelled when it has). A finished job is forgotten and its MP4 removed;
  // the view returned is its last. nullopt: no such job.
  std::optional<JobView> cancel_or_forget(const std::string& id);

  // Cancels every queued job and tells the running one to stop at its next step; takes no new
  // jobs. Returns at once.
  void stop();
  // stop(), then waits for the worker to finish.
  void shutdown();

 private:
  struct Job {
    JobView view;
    GenerateRequest request;
    std::chrono::steady_clock::time_point started;
  };

  void work();
  JobView view_of(const Job& job) const;  // with the queue position filled in
  void forget_oldest_finished();          // beyond keep_finished
  // Records a change of `job` and of the queued jobs from index `queue_moved_from` on (those
  // whose position changed) and wakes the waiters of wait_for_change. Called with mutex_ held.
  void changed(Job& job, size_t queue_moved_from = SIZE_MAX);

  Options options_;
  Runner runner_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;             // the worker: a job was queued, or stop
  mutable std::condition_variable changed_;  // wait_for_change: some job changed
  uint64_t revision_ = 0;                    // the last revision handed out
  std::map<std::string, Job> jobs_;
  std::vector<std::string> order_;  // ids, oldest first
  std::deque<std::string> queue_;   // waiting ids, next first
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace mova::server
