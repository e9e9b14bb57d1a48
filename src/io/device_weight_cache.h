// Copies of weights on one device, shared by the WeightSets placed with it. Without a budget
// every copy stays for the life of the cache. With one, the least recently used copies are
// dropped to stay within it, so a model larger than the device's memory still runs: its
// weights stream from host memory, each uploaded again when next needed (sd.cpp's and
// diffusers' offloading, at tensor granularity). A dropped copy that an op still uses stays
// alive through that op's Tensor.
// Which copies go: a model that calls begin_pass() before each pass over its weights gets
// copies not used in the current pass dropped first, least recently used first (an expert
// that is no longer called); when every copy was used in this pass, the most recently used
// go (plain LRU would drop each weight just before the next pass needs it again and keep
// none). So a model streamed in a loop keeps a fixed part of its weights resident and uploads
// only the rest each pass. What would hide that upload is prefetching on a copy stream
// while the previous block computes (not done yet).
// Memory pressure: the cache registers with its device's BufferPool, so an allocation there
// that fails (an activation, or the next upload) makes it drop copies in the same order until
// the allocation fits; it then keeps at most what it held after dropping as its budget (the
// device told it how much fits beside the activations) for the rest of its life, which for the
// denoiser's cache is one generation. So without any budget a denoiser larger than the GPU
// still runs: `--device-weights-gib` only sets a lower limit up front.
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

  // The copy of `key` on the device; on a miss `host()` gives the tensor to upload.
  Tensor get(const std::string& key, const std::function<Tensor()>& host);
  // Marks the start of a pass over the weights (the eviction order above).
  void begin_pass();

  struct Stats {
    uint64_t uploads = 0;         // copies made, re-uploads included
    uint64_t uploaded_bytes = 0;  // bytes moved to the device in total
    uint64_t resident_bytes = 0;  // held by the cache now
    uint64_t peak_resident_bytes = 0;
    uint64_t reclaimed_bytes = 0;  // dropped because the device ran out of memory
    uint64_t budget_bytes = 0;     // the limit now (0: none): the smaller of given and learned
  };
  Stats stats() const;

 private:
  struct Entry {
    Tensor tensor;
    std::list<std::string>::iterator use;  // position in use_order_
    uint64_t pass = 0;                     // the pass it was last used in
  };
  void evict_beyond_budget(const std::string& keep);
  std::map<std::string, Entry>::iterator next_victim();
  void drop(std::map<std::string, Entry>::iterator victim);
  bool give_back_one();  // the pool's reclaimer
  uint64_t budget() const;

  Device device_;
  uint64_t budget_;
  uint64_t learned_budget_ = 0;  // 0 until the device first ran out of memory
  // Recursive: an upload made under the lock can run out of memory, and the pool then calls
  // give_back_one on the same thread.
  mutable std::recursive_mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::list<std::string> use_order_;  // most recently used first
  uint64_t pass_ = 0;
  Stats stats_;
  // Registration with the device's pool, made on first use. Declared last, so destroyed first:
  // unregistering waits for a give-back in progress before the entries go.
  std::shared_ptr<void> reclaimer_;
};

}  // namespace mova
