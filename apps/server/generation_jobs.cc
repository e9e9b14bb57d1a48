#include "server/generation_jobs.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <new>
#include <random>

#include "runtime/log.h"

namespace mova::server {
namespace {

using Clock = std::chrono::steady_clock;

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// 16 hex digits from the system's random source: ids of different runs do not collide, and
// none follows from another (though GET /v1/jobs lists them all to anyone the server admits).
std::string new_id() {
  std::random_device random;
  const uint64_t v = (uint64_t{random()} << 32) | random();
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

bool finished(JobState s) {
  return s == JobState::kDone || s == JobState::kFailed || s == JobState::kCancelled;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace

const char* job_state_name(JobState state) {
  switch (state) {
    case JobState::kQueued:
      return "queued";
    case JobState::kRunning:
      return "running";
    case JobState::kDone:
      return "done";
    case JobState::kFailed:
      return "failed";
    case JobState::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

GenerationJobs::GenerationJobs(Options options, Runner runner)
    : options_(std::move(options)), runner_(std::move(runner)) {
  MOVA_CHECK(std::filesystem::is_directory(options_.output_dir), ErrorKind::kIo, "output folder ",
             options_.output_dir, " does not exist");
  worker_ = std::thread([this] { work(); });
}

GenerationJobs::~GenerationJobs() {
  shutdown();
}

std::optional<JobView> GenerationJobs::submit(GenerateRequest request, std::string settings) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (queue_.size() >= options_.max_queued || stopping_) return std::nullopt;
  Job job;
  job.view.id = new_id();
  while (jobs_.count(job.view.id)) job.view.id = new_id();
  job.view.created = utc_now();
  job.view.prompt = request.prompt;
  job.view.settings = std::move(settings);
  job.view.steps = request.steps;
  job.request = std::move(request);
  const std::string id = job.view.id;
  Job& queued = jobs_.emplace(id, std::move(job)).first->second;
  order_.push_back(id);
  queue_.push_back(id);
  changed(queued);
  wake_.notify_one();
  return view_of(jobs_.at(id));
}

JobView GenerationJobs::view_of(const Job& job) const {
  JobView v = job.view;
  if (v.state == JobState::kQueued) {
    const auto at = std::find(queue_.begin(), queue_.end(), v.id);
    v.queue_position = static_cast<size_t>(at - queue_.begin()) + 1;
  }
  if (v.state == JobState::kRunning) v.seconds = seconds_since(job.started);
  return v;
}

std::optional<JobView> GenerationJobs::find(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return view_of(it->second);
}

std::optional<JobView> GenerationJobs::wait_for_change(const std::string& id, uint64_t after,
                                                       std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait_for(lock, timeout, [&] {
    const auto it = jobs_.find(id);
    return it == jobs_.end() || stopping_ || it->second.view.revision > after ||
           finished(it->second.view.state);
  });
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  return view_of(it->second);
}

void GenerationJobs::changed(Job& job, size_t queue_moved_from) {
  job.view.revision = ++revision_;
  for (size_t i = queue_moved_from; i < queue_.size(); ++i)
    jobs_.at(queue_[i]).view.revision = ++revision_;
  changed_.notify_all();
}

std::vector<JobView> GenerationJobs::list() const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<JobView> out;
  out.reserve(order_.size());
  for (const std::string& id : order_) out.push_back(view_of(jobs_.at(id)));
  return out;
}

size_t GenerationJobs::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

bool GenerationJobs::busy() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::any_of(jobs_.begin(), jobs_.end(),
                     [](const auto& j) { return j.second.view.state == JobState::kRunning; });
}

std::optional<JobView> GenerationJobs::cancel_or_forget(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const auto it = jobs_.find(id);
  if (it == jobs_.end()) return std::nullopt;
  JobView& v = it->second.view;
  switch (v.state) {
    case JobState::kQueued: {
      const auto at = queue_.erase(std::find(queue_.begin(), queue_.end(), id));
      v.state = JobState::kCancelled;
      it->second.request = GenerateRequest{};  // its first frame may be large
      changed(it->second, static_cast<size_t>(at - queue_.begin()));
      MOVA_LOG_INFO("mova serve: job ", id, " cancelled before it ran");
      const JobView cancelled = view_of(it->second);
      forget_oldest_finished();  // cancelled jobs count towards keep_finished too
      return cancelled;
    }
    case JobState::kRunning:
      v.cancel_requested = true;
      changed(it->second);
      MOVA_LOG_INFO("mova serve: job ", id, " told to stop at its next step");
      return view_of(it->second);
    case JobState::kDone:
    case JobState::kFailed:
    case JobState::kCancelled:
      break;
  }
  const JobView last = view_of(it->second);
  if (!last.video_path.empty()) {
    std::error_code ec;
    std::filesystem::remove(last.video_path, ec);
  }
  jobs_.erase(it);
  order_.erase(std::find(order_.begin(), order_.end(), id));
  return last;  // only finished jobs are forgotten, and nobody waits on those
}

void GenerationJobs::forget_oldest_finished() {
  size_t count = 0;
  for (const auto& [id, job] : jobs_) count += finished(job.view.state) ? 1 : 0;
  for (auto it = order_.begin(); count > options_.keep_finished && it != order_.end();) {
    Job& job = jobs_.at(*it);
    if (!finished(job.view.state)) {
      ++it;
      continue;
    }
    if (!job.view.video_path.empty()) {
      std::error_code ec;
      std::filesystem::remove(job.view.video_path, ec);
    }
    jobs_.erase(*it);
    it = order_.erase(it);
    --count;
  }
}

void GenerationJobs::work() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    const std::string id = queue_.front();
    queue_.pop_front();
    Job& job = jobs_.at(id);  // not erased while running: cancel_or_forget only flags it
    job.view.state = JobState::kRunning;
    job.started = Clock::now();
    changed(job, 0);                                         // every job still waiting moved up
    const GenerateRequest request = std::move(job.request);  // the image is not kept twice
    MOVA_LOG_INFO("mova serve: job ", id, " started: ", job.view.settings);
    lock.unlock();

    const ProgressFn progress = [this, &job](const GenerateProgress& p) {
      std::lock_guard<std::mutex> g(mutex_);
      JobView& v = job.view;
      // A stage reports its start and its end; only what a client can see is a change.
      if (v.stage == p.stage && (p.steps <= 0 || (v.step == p.step && v.steps == p.steps))) return;
      v.stage = p.stage;
      if (p.steps > 0) {
        v.step = p.step;
        v.steps = p.steps;
      }
      changed(job);
    };
    const AbortFn abort = [this, &job] {
      std::lock_guard<std::mutex> g(mutex_);
      return stopping_ || job.view.cancel_requested;
    };
    std::vector<StageTime> timings;
    JobState state = JobState::kDone;
    std::string error;
    ErrorKind kind = ErrorKind::kInternal;
    std::string path;
    try {
      path = (std::filesystem::path(options_.output_dir) / (id + ".mp4")).string();
      runner_(request, path, progress, abort, timings);
    } catch (const Error& e) {
      state = e.kind() == ErrorKind::kAborted ? JobState::kCancelled : JobState::kFailed;
      error = e.what();
      kind = e.kind();
    } catch (const std::bad_alloc&) {
      state = JobState::kFailed;
      error = "out of host memory";
      kind = ErrorKind::kOutOfMemory;
    } catch (const std::exception& e) {
      state = JobState::kFailed;
      error = std::string("internal error: ") + e.what();
    }

    lock.lock();
    job.view.state = state;
    job.view.seconds = seconds_since(job.started);
    job.view.timings = std::move(timings);
    if (state == JobState::kDone) {
      job.view.video_path = path;
      MOVA_LOG_INFO("mova serve: job ", id, " done in ", job.view.seconds, " s: ", path);
    } else {
      job.view.error = error;
      job.view.error_kind = kind;
      MOVA_LOG(state == JobState::kFailed ? LogLevel::kWarn : LogLevel::kInfo, "mova serve: job ",
               id, " ", job_state_name(state), ": ", error);
    }
    changed(job);
    forget_oldest_finished();
  }
}

void GenerationJobs::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    for (const std::string& id : queue_) {
      Job& job = jobs_.at(id);
      job.view.state = JobState::kCancelled;
      job.request = GenerateRequest{};
      changed(job);
    }
    queue_.clear();
  }
  wake_.notify_all();
  changed_.notify_all();  // also the running job's waiters: they answer now, not at their timeout
}

void GenerationJobs::shutdown() {
  stop();
  if (worker_.joinable()) worker_.join();
}

}  // namespace mova::server
