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
// only the rest each pass. Once a pass repeats the previous pass's order of first uses (it is
// "in step": each weight first used at the same place), the copy used farthest ahead goes
// (Belady's rule; a weight the order does not use is farthest).
// Prefetch (set_prefetch): while in step, each first use begins uploading the next weights
// that are not resident, up to a number of bytes ahead, on the device's transfer queue
// (Backend::begin_upload: a copy stream on CUDA), so they arrive while the ops before them run
// instead of stalling the pass at each miss. The order is read as a cycle, so the end of a pass
// fetches the start of the next. Room for one is made only from copies used after it; a pass
// out of step (the other expert, the first pass) prefetches nothing and drops what was
// fetched for the old order before it uploads anything.
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
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "runtime/backend.h"
#include "runtime/device.h"
#include "runtime/tensor.h"

namespace mova {

class DeviceWeightCache {
 public:
  // budget_bytes 0: no limit. A single tensor larger than the budget is still uploaded (and
  // is the only one kept).
  explicit DeviceWeightCache(Device device, uint64_t budget_bytes = 0);

  Device device() const { return device_; }

  // The copy of `key` on the device; on a miss `host()` gives the tensor to upload. The first
  // `host` given for a key is kept, and may be called by a later get() to prefetch that key:
  // it must stay valid for the cache's life (capture what it needs by value).
  Tensor get(const std::string& key, std::function<Tensor()> host);
  // Marks the start of a pass over the weights (the eviction order above).
  void begin_pass();
  // Up to `bytes` of uploads ahead (0, the default: none); at most a quarter of the budget,
  // and none without a budget (every weight stays resident then).
  void set_prefetch(uint64_t bytes);

  struct Stats {
    uint64_t uploads = 0;         // copies made, re-uploads included
    uint64_t uploaded_bytes = 0;  // bytes moved to the device in total
    uint64_t resident_bytes = 0;  // held by the cache now
    uint64_t peak_resident_bytes = 0;
    uint64_t reclaimed_bytes = 0;    // dropped because the device ran out of memory
    uint64_t budget_bytes = 0;       // the limit now (0: none): the smaller of given and learned
    uint64_t prefetches = 0;         // of the uploads, those begun ahead of their use
    uint64_t unused_prefetches = 0;  // dropped before their use (the order changed)
  };
  Stats stats() const;

 private:
  struct Entry {
    Tensor tensor;
    std::list<std::string>::iterator use;  // position in use_order_
    uint64_t pass = 0;                     // the pass it was last used in
    size_t place = SIZE_MAX;  // its first use in the recorded order (SIZE_MAX: not in it)
  };
  struct Pending {
    std::unique_ptr<Backend::PendingUpload> upload;
    uint64_t bytes = 0;
  };
  void evict_beyond_budget(const std::string& keep);
  // The copy to drop next (end() when none but `keep`): while a pass is in step with the
  // recorded order, the one used farthest ahead (Belady); otherwise, the least recently used
  // if this pass has not used it, else the most recently used.
  std::map<std::string, Entry>::iterator next_victim(const std::string& keep);
  void drop(std::map<std::string, Entry>::iterator victim);
  bool give_back_one();  // the pool's reclaimer
  uint64_t budget() const;
  Tensor upload_now(const std::string& key);
  Tensor finish_prefetch(std::map<std::string, Pending>::iterator pending);
  void keep(const std::string& key, const Tensor& copy);
  // The first use of `key` in this pass: recorded; a pass out of step stops prefetching.
  void record_first_use(const std::string& key);
  bool ordered() const;  // in step with a recorded order
  // Where a copy is next used, counted from this pass's start (past its end: in the next
  // pass); SIZE_MAX when the recorded order does not use it.
  size_t next_use(const Entry& entry) const;
  size_t place_in_order(const std::string& key) const;
  void prefetch_ahead();
  bool make_room_ahead(uint64_t bytes, size_t place);
  void drop_pending();

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
  // Prefetch: each key's host source, the previous pass's order of first uses (and each key's
  // place in it), this pass's so far, the uploads in flight, and the place in the cycle
  // (counted from this pass's start, past its end into the next) before which every weight
  // was resident or in flight when last looked at.
  uint64_t prefetch_limit_ = 0;
  std::unordered_map<std::string, std::function<Tensor()>> hosts_;
  std::vector<std::string> order_;
  std::unordered_map<std::string, size_t> order_index_;
  std::vector<std::string> this_pass_;
  std::unordered_set<std::string> used_this_pass_;
  std::map<std::string, Pending> pending_;
  uint64_t pending_bytes_ = 0;
  size_t cursor_ = 0;
  bool in_step_ = true;
  bool prefetching_ = false;  // inside begin_upload: the reclaimer gives nothing back
  // Registration with the device's pool, made on first use. Declared last, so destroyed first:
  // unregistering waits for a give-back in progress before the entries go.
  std::shared_ptr<void> reclaimer_;
};

}  // namespace mova
