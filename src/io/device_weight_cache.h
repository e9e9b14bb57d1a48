// Copies of weights on one device, shared by the WeightSets placed with it. Without a budget
// every copy stays for the life of the cache. With one, the least recently used copies are
// dropped to stay within it, so a model larger than the device's memory still runs: its
// weights stream from host memory, each uploaded again when next needed (sd.cpp's and
// diffusers' offloading, at tensor granularity). A dropped copy that an op still uses stays
// alive through that op's Tensor.
// In a pass over more weights than the budget, LRU keeps none of them for the next pass, so a
// streamed model uploads all its weights every pass; what hides that cost is prefetching the
// next block's weights on a copy stream while this one computes (not done yet).
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <string>

#include "runtime/device.h"
#include "runtime/tensor.h"

namespace mova {

class DeviceWeightCache {
 public:
  // budget_bytes 0: no limit. A single tensor larger than the budget is still uploaded (and
  // is the only one kept).
  explicit DeviceWeightCache(Device device, uint64_t budget_bytes = 0);

  Device device() const { return device_; }
  uint64_t budget_bytes() const { return budget_; }

  // The copy of `key` on the device; on a miss `host()` gives the tensor to upload.
  Tensor get(const std::string& key, const std::function<Tensor()>& host);

  struct Stats {
    uint64_t uploads = 0;         // copies made, re-uploads included
    uint64_t uploaded_bytes = 0;  // bytes moved to the device in total
    uint64_t resident_bytes = 0;  // held by the cache now
    uint64_t peak_resident_bytes = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    Tensor tensor;
    std::list<std::string>::iterator use;  // position in use_order_
  };
  void evict_beyond_budget(const std::string& keep);

  Device device_;
  uint64_t budget_;
  mutable std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::list<std::string> use_order_;  // most recently used first
  Stats stats_;
};

}  // namespace mova
