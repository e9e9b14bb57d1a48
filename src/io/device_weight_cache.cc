#include "io/device_weight_cache.h"

#include <algorithm>

#include "runtime/backend.h"
#include "runtime/error.h"
#include "runtime/log.h"

namespace mova {

DeviceWeightCache::DeviceWeightCache(Device device, uint64_t budget_bytes)
    : device_(device), budget_(budget_bytes) {
  MOVA_CHECK(!device.is_cpu(), ErrorKind::kInternal, "a device weight cache on the host");
}

Tensor DeviceWeightCache::get(const std::string& key, const std::function<Tensor()>& host) {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    use_order_.splice(use_order_.begin(), use_order_, it->second.use);
    it->second.pass = pass_;
    return it->second.tensor;
  }
  if (!reclaimer_) {
    reclaimer_ = backend_for(device_, "device weight cache").buffers().add_reclaimer([this] {
      return give_back_one();
    });
  }
  Tensor copy = host().to(device_);
  use_order_.push_front(key);
  entries_.emplace(key, Entry{copy, use_order_.begin(), pass_});
  stats_.uploads += 1;
  stats_.uploaded_bytes += copy.nbytes();
  stats_.resident_bytes += copy.nbytes();
  evict_beyond_budget(key);
  stats_.peak_resident_bytes = std::max(stats_.peak_resident_bytes, stats_.resident_bytes);
  return copy;
}

uint64_t DeviceWeightCache::budget() const {
  if (budget_ == 0 || learned_budget_ == 0) return std::max(budget_, learned_budget_);
  return std::min(budget_, learned_budget_);
}

// The least recently used if this pass has not used it (or no passes are marked); else the
// most recently used.
std::map<std::string, DeviceWeightCache::Entry>::iterator DeviceWeightCache::next_victim() {
  auto lru = entries_.find(use_order_.back());
  return pass_ == 0 || lru->second.pass < pass_ ? lru : entries_.find(use_order_.front());
}

void DeviceWeightCache::drop(std::map<std::string, Entry>::iterator victim) {
  stats_.resident_bytes -= victim->second.tensor.nbytes();
  use_order_.erase(victim->second.use);
  entries_.erase(victim);  // the memory returns once no op holds the tensor any more
}

void DeviceWeightCache::evict_beyond_budget(const std::string& keep) {
  const uint64_t limit = budget();
  while (limit > 0 && stats_.resident_bytes > limit && use_order_.size() > 1) {
    auto victim = next_victim();
    if (victim->first == keep) victim = entries_.find(*std::next(use_order_.begin()));
    if (victim->first == keep) break;
    drop(victim);
  }
}

bool DeviceWeightCache::give_back_one() {
  // Another thread inside get() may be holding the lock while it allocates (and so calls the
  // reclaimers of every cache on the device, this one included): waiting for it could deadlock
  // two caches; a busy cache gives nothing back this time. The same thread gets the lock.
  std::unique_lock<std::recursive_mutex> lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || entries_.empty()) return false;
  const auto victim = next_victim();
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
}

DeviceWeightCache::Stats DeviceWeightCache::stats() const {
  std::lock_guard<std::recursive_mutex> lock(mutex_);
  Stats s = stats_;
  s.budget_bytes = budget();
  return s;
}

}  // namespace mova
