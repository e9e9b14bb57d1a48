#include "io/device_weight_cache.h"

#include <algorithm>
#include <cstdint>

#include "runtime/backend.h"
#include "runtime/error.h"
#include "runtime/log.h"

namespace mova {

DeviceWeightCache::DeviceWeightCache(Device device, uint64_t budget_bytes)
    : device_(device), budget_(budget_bytes) {
  MOVA_CHECK(!device.is_cpu(), ErrorKind::kInternal, "a device weight cache on the host");
}

Tensor DeviceWeightCache::get(const std::string& key, std::function<Tensor()> host) {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  if (!reclaimer_) {
    reclaimer_ = backend_for(device_, "device weight cache").buffers().add_reclaimer([this] {
      return give_back_one();
    });
  }
  if (hosts_.count(key) == 0) hosts_[key] = std::move(host);
  const bool first_use = used_this_pass_.insert(key).second;
  if (first_use) record_first_use(key);  // before any upload: an order change drops prefetches
  Tensor copy;
  if (auto it = entries_.find(key); it != entries_.end()) {
    use_order_.splice(use_order_.begin(), use_order_, it->second.use);
    it->second.pass = pass_;
    copy = it->second.tensor;
  } else if (auto pending = pending_.find(key); pending != pending_.end()) {
    copy = finish_prefetch(pending);
  } else {
    copy = upload_now(key);
  }
  if (first_use) prefetch_ahead();
  stats_.peak_resident_bytes = std::max(stats_.peak_resident_bytes, stats_.resident_bytes);
  return copy;
}

Tensor DeviceWeightCache::upload_now(const std::string& key) {
  Tensor copy = hosts_.at(key)().to(device_);
  stats_.uploads += 1;
  stats_.uploaded_bytes += copy.nbytes();
  stats_.resident_bytes += copy.nbytes();
  keep(key, copy);
  evict_beyond_budget(key);
  return copy;
}

// Its bytes were counted as resident when it began.
Tensor DeviceWeightCache::finish_prefetch(std::map<std::string, Pending>::iterator pending) {
  const std::string key = pending->first;
  const Pending p = std::move(pending->second);
  pending_.erase(pending);
  pending_bytes_ -= p.bytes;
  Tensor copy;
  try {
    copy = p.upload->finish();
  } catch (...) {
    stats_.resident_bytes -= p.bytes;
    throw;
  }
  keep(key, copy);
  return copy;
}

void DeviceWeightCache::keep(const std::string& key, const Tensor& copy) {
  use_order_.push_front(key);
  entries_.emplace(key, Entry{copy, use_order_.begin(), pass_, place_in_order(key)});
}

void DeviceWeightCache::set_prefetch(uint64_t bytes) {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  prefetch_limit_ = bytes;
  if (bytes == 0) drop_pending();
}

void DeviceWeightCache::drop_pending() {
  for (auto& [key, p] : pending_) {
    stats_.resident_bytes -= p.bytes;
    stats_.unused_prefetches += 1;
  }
  pending_.clear();  // each upload orders later ops after its copy before its memory returns
  pending_bytes_ = 0;
}

void DeviceWeightCache::record_first_use(const std::string& key) {
  if (in_step_ && !order_.empty() && place_in_order(key) != this_pass_.size()) {
    in_step_ = false;  // for the rest of this pass: what was fetched ahead is for another order
    drop_pending();
  }
  this_pass_.push_back(key);
}

bool DeviceWeightCache::ordered() const {
  return in_step_ && !order_.empty();
}

size_t DeviceWeightCache::place_in_order(const std::string& key) const {
  const auto at = order_index_.find(key);
  return at == order_index_.end() ? SIZE_MAX : at->second;
}

// A copy is used in a pass when it is kept or hit, so `pass` tells whether this pass has.
size_t DeviceWeightCache::next_use(const Entry& entry) const {
  if (entry.place == SIZE_MAX) return SIZE_MAX;
  return entry.pass == pass_ ? entry.place + order_.size() : entry.place;
}

void DeviceWeightCache::prefetch_ahead() {
  const uint64_t limit = budget();
  const uint64_t ahead = limit == 0 ? 0 : std::min(prefetch_limit_, limit / 4);
  if (ahead == 0 || !ordered()) return;
  const size_t n = order_.size(), here = this_pass_.size() - 1;
  size_t next = std::max(here + 1, cursor_);
  cursor_ = SIZE_MAX;                // drop() lowers it to the place of a weight that goes
  for (; next < here + n; ++next) {  // once round the cycle, at most
    const std::string& want = order_[next % n];
    if (entries_.count(want) != 0 || pending_.count(want) != 0) continue;
    const Tensor host = hosts_.at(want)();
    const uint64_t bytes = host.nbytes();
    if (pending_bytes_ > 0 && pending_bytes_ + bytes > ahead) break;  // (one may exceed it)
    if (!make_room_ahead(bytes, next)) break;
    std::unique_ptr<Backend::PendingUpload> upload;
    prefetching_ = true;  // the device running out of memory now gives nothing back
    try {
      upload = backend_for(device_, "device weight cache").begin_upload(host);
    } catch (const Error& e) {
      prefetching_ = false;
      if (e.kind() == ErrorKind::kOutOfMemory) break;  // uploaded at its use instead
      MOVA_LOG_WARN(device_.str(), ": weights are no longer uploaded ahead: ", e.what());
      prefetch_limit_ = 0;
      break;
    }
    prefetching_ = false;
    pending_.emplace(want, Pending{std::move(upload), bytes});
    pending_bytes_ += bytes;
    stats_.resident_bytes += bytes;
    stats_.uploads += 1;
    stats_.uploaded_bytes += bytes;
    stats_.prefetches += 1;
  }
  cursor_ = std::min(cursor_, next);
}

// Drops the weights used farthest ahead until `bytes` more fit in the budget, as long as each is
// next used after `place` (where the weight to be fetched is used).
bool DeviceWeightCache::make_room_ahead(uint64_t bytes, size_t place) {
  const uint64_t limit = budget();
  while (stats_.resident_bytes + bytes > limit) {
    const auto victim = next_victim("");
    if (victim == entries_.end() || next_use(victim->second) <= place) return false;
    drop(victim);
  }
  return true;
}

uint64_t DeviceWeightCache::budget() const {
  if (budget_ == 0 || learned_budget_ == 0) return std::max(budget_, learned_budget_);
  return std::min(budget_, learned_budget_);
}

std::map<std::string, DeviceWeightCache::Entry>::iterator DeviceWeightCache::next_victim(
    const std::string& keep) {
  if (ordered()) {  // Belady's choice: the copy whose next use is farthest away
    auto best = entries_.end();
    size_t best_use = 0;
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first == keep) continue;
      const size_t use = next_use(it->second);
      if (best == entries_.end() || use > best_use) {
        best = it;
        best_use = use;
      }
    }
    return best;
  }
  // The least recently used if this pass has not used it (or no passes are marked); else the
  // most recently used, or the one before it when that is `keep`.
  if (use_order_.empty()) return entries_.end();
  auto victim = entries_.find(use_order_.back());
  if (pass_ != 0 && victim->second.pass == pass_) victim = entries_.find(use_order_.front());
  if (victim->first == keep)
    victim = use_order_.size() > 1 ? entries_.find(*std::next(use_order_.begin())) : entries_.end();
  return victim != entries_.end() && victim->first == keep ? entries_.end() : victim;
}

void DeviceWeightCache::drop(std::map<std::string, Entry>::iterator victim) {
  // A weight behind the prefetch cursor that goes must be looked at again.
  if (ordered()) cursor_ = std::min(cursor_, next_use(victim->second));
  stats_.resident_bytes -= victim->second.tensor.nbytes();
  use_order_.erase(victim->second.use);
  entries_.erase(victim);  // the memory returns once no op holds the tensor any more
}

void DeviceWeightCache::evict_beyond_budget(const std::string& keep) {
  const uint64_t limit = budget();
  while (limit > 0 && stats_.resident_bytes > limit) {
    const auto victim = next_victim(keep);
    if (victim == entries_.end()) break;
    drop(victim);
  }
}

bool DeviceWeightCache::give_back_one() {
  // Another thread inside get() may be holding the lock while it allocates (and so calls the
  // reclaimers of every cache on the device, this one included): waiting for it could deadlock
  // two caches; a busy cache gives nothing back this time. The same thread gets the lock; it
  // gives nothing for an upload ahead (that upload waits for its use instead).
  std::unique_lock<std::recursive_mutex> lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || prefetching_) return false;
  if (entries_.empty()) {
    if (pending_.empty()) return false;
    drop_pending();  // uploads ahead hold memory too
    return true;
  }
  const auto victim = next_victim("");
  const uint64_t bytes = victim->second.tensor.nbytes();
  drop(victim);
  stats_.reclaimed_bytes += bytes;
  if (learned_budget_ == 0)
    MOVA_LOG_INFO(device_.str(), " ran out of memory: its weight cache keeps at most ",
                  stats_.resident_bytes >> 20,
                  " MiB there from now on and uploads the rest again when needed");
  // What is left is what fits beside the work that needed the memory (at least one tensor).
  learned_budget_ = std::max<uint64_t>(stats_.resident_bytes, 1);
  return true;
}

void DeviceWeightCache::begin_pass() {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  ++pass_;
  const bool same_order = in_step_ && this_pass_ == order_;
  // What the last pass looked at past its end is this pass's start.
  cursor_ = same_order && cursor_ >= order_.size() ? cursor_ - order_.size() : 0;
  in_step_ = true;
  if (!this_pass_.empty() && !same_order) {
    order_ = std::move(this_pass_);
    order_index_.clear();
    for (size_t i = 0; i < order_.size(); ++i) order_index_[order_[i]] = i;
    for (auto& [key, entry] : entries_) entry.place = place_in_order(key);
  }
  this_pass_.clear();
  used_this_pass_.clear();
}

DeviceWeightCache::Stats DeviceWeightCache::stats() const {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  Stats s = stats_;
  s.budget_bytes = budget();
  return s;
}

}  // namespace mova
