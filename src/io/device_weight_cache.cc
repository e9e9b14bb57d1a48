#include "io/device_weight_cache.h"

#include <algorithm>

#include "runtime/error.h"

namespace mova {

DeviceWeightCache::DeviceWeightCache(Device device, uint64_t budget_bytes)
    : device_(device), budget_(budget_bytes) {
  MOVA_CHECK(!device.is_cpu(), ErrorKind::kInternal, "a device weight cache on the host");
}

Tensor DeviceWeightCache::get(const std::string& key, const std::function<Tensor()>& host) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    use_order_.splice(use_order_.begin(), use_order_, it->second.use);
    it->second.pass = pass_;
    return it->second.tensor;
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

void DeviceWeightCache::evict_beyond_budget(const std::string& keep) {
  while (budget_ > 0 && stats_.resident_bytes > budget_ && use_order_.size() > 1) {
    // The least recently used if this pass has not used it (or no passes are marked); else
    // the most recently used before `keep` (at the front).
    auto lru = entries_.find(use_order_.back());
    auto victim = pass_ == 0 || lru->second.pass < pass_
                      ? lru
                      : entries_.find(*std::next(use_order_.begin()));
    if (victim->first == keep) break;
    stats_.resident_bytes -= victim->second.tensor.nbytes();
    use_order_.erase(victim->second.use);
    entries_.erase(victim);
  }
}

void DeviceWeightCache::begin_pass() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++pass_;
}

DeviceWeightCache::Stats DeviceWeightCache::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace mova
