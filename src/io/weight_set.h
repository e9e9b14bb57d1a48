// The weights of one checkpoint component: a single safetensors file, or shards listed by a
// `*.safetensors.index.json` whose `weight_map` names the shard holding each tensor.
// Diffusers folders use `diffusion_pytorch_model*.safetensors`, transformers folders
// `model*.safetensors`; both are found automatically.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/device_weight_cache.h"
#include "io/safetensors.h"
#include "runtime/device.h"

namespace mova {

class WeightSet {
 public:
  // Opens the weights in `folder`. Throws naming the folder when none are found, and naming
  // the index/shard when an index is inconsistent (missing shard, tensor absent from the
  // shard the index names, tensor stored twice).
  static WeightSet open_folder(const std::string& folder);
  static WeightSet open_file(const std::string& safetensors_path);

  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  const TensorInfo* info(const std::string& name) const;
  // Zero-copy view of the file, or on a device the copy made there on first use (kept by the
  // set's DeviceWeightCache); throws naming the component when absent.
  Tensor get(const std::string& name) const;
  // The file's zero-copy view wherever the set is placed: for weights a model only reads on
  // the host (folded, or turned into tables), which then never travel to the device.
  Tensor get_host(const std::string& name) const;
  // Where get() returns the tensors (the host by default). Weights keep their stored dtype.
  // A device gets a cache of its own that keeps every copy; several sets may share one with a
  // byte budget instead (io/device_weight_cache.h).
  void place_on(Device device);
  void place_on(std::shared_ptr<DeviceWeightCache> cache);
  Device device() const { return device_; }
  std::vector<std::string> names() const;  // sorted
  size_t size() const { return where_.size(); }
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
  const std::string& origin() const { return origin_; }  // folder or file, for messages

 private:
  // The file holding `name`; throws naming the component when absent.
  const std::shared_ptr<SafetensorsFile>& file_of(const std::string& name) const;

  std::string origin_;
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> index into files_
  Device device_;
  std::shared_ptr<DeviceWeightCache> device_copies_;
};

// True when `folder` holds a weights file or index we know how to open.
bool folder_has_weights(const std::string& folder);

}  // namespace mova
