// The value made for the last key asked for, kept until another key is asked for: tables that
// depend only on shapes the sampler repeats every pass (the DiTs' and the bridge's RoPE), made
// and uploaded once per generation instead of once per pass. Thread-safe; copies of the owner
// share one cache.
#pragma once

#include <memory>
#include <mutex>
#include <optional>

namespace mova {

template <typename Key, typename Value>
class LastValueCache {
 public:
  template <typename Make>
  Value get(const Key& key, Make&& make) const {
    std::lock_guard<std::mutex> lock(state_->mutex);
    if (!state_->value || !(state_->key == key)) {
      state_->value.reset();  // the old value's memory goes before the new one is made
      state_->value = make();
      state_->key = key;
    }
    return *state_->value;
  }

 private:
  struct State {
    std::mutex mutex;
    Key key{};
    std::optional<Value> value;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace mova
