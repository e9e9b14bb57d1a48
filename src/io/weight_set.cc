#include "io/weight_set.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "runtime/error.h"

namespace mova {
namespace fs = std::filesystem;
namespace {

constexpr const char* kStems[] = {"diffusion_pytorch_model", "model"};

bool exists_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

}  // namespace

bool folder_has_weights(const std::string& folder) {
  for (const char* stem : kStems) {
    if (exists_file(fs::path(folder) / (std::string(stem) + ".safetensors")) ||
        exists_file(fs::path(folder) / (std::string(stem) + ".safetensors.index.json")))
      return true;
  }
  return false;
}

WeightSet WeightSet::open_file(const std::string& path) {
  WeightSet w;
  w.origin_ = path;
  w.files_.push_back(SafetensorsFile::open(path));
  for (const auto& t : w.files_[0]->tensors()) w.where_[t.name] = 0;
  return w;
}

WeightSet WeightSet::open_folder(const std::string& folder) {
  for (const char* stem : kStems) {
    const fs::path single = fs::path(folder) / (std::string(stem) + ".safetensors");
    const fs::path index = fs::path(folder) / (std::string(stem) + ".safetensors.index.json");
    if (exists_file(index)) {
      WeightSet w;
      w.origin_ = folder;
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(read_text_file(index.string()));
      } catch (const nlohmann::json::exception& e) {
        fail(ErrorKind::kFormat, index.string(), ": not valid JSON: ", e.what());
      }
      MOVA_CHECK(j.is_object() && j.contains("weight_map") && j["weight_map"].is_object(),
                 ErrorKind::kFormat, index.string(), ": missing object 'weight_map'");
      std::map<std::string, size_t> shard_index;
      for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
        MOVA_CHECK(it.value().is_string(), ErrorKind::kFormat, index.string(), ": weight_map['",
                   it.key(), "'] is not a file name");
        const std::string shard = it.value().get<std::string>();
        MOVA_CHECK(!shard.empty() && shard.find('/') == std::string::npos && shard != "..",
                   ErrorKind::kFormat, index.string(), ": weight_map['", it.key(), "'] names '",
                   shard, "', which is not a file in this folder");
        auto found = shard_index.find(shard);
        if (found == shard_index.end()) {
          const fs::path shard_path = fs::path(folder) / shard;
          MOVA_CHECK(exists_file(shard_path), ErrorKind::kIo, index.string(), ": shard '", shard,
                     "' (holding '", it.key(), "') is missing from ", folder);
          w.files_.push_back(SafetensorsFile::open(shard_path.string()));
          found = shard_index.emplace(shard, w.files_.size() - 1).first;
        }
        MOVA_CHECK(w.files_[found->second]->contains(it.key()), ErrorKind::kFormat, index.string(),
                   ": tensor '", it.key(), "' is mapped to shard '", shard,
                   "' but that shard does not contain it");
        w.where_[it.key()] = found->second;
      }
      // Tensors in a shard but not in the index would be silently ignored by PyTorch loaders;
      // we report them because they usually mean the index and shards come from different
      // downloads.
      for (size_t f = 0; f < w.files_.size(); ++f) {
        for (const auto& t : w.files_[f]->tensors()) {
          auto it = w.where_.find(t.name);
          MOVA_CHECK(it != w.where_.end(), ErrorKind::kFormat, w.files_[f]->path(), ": tensor '",
                     t.name, "' is not listed in ", index.string());
          MOVA_CHECK(it->second == f, ErrorKind::kFormat, "tensor '", t.name,
                     "' is stored in both ", w.files_[f]->path(), " and ",
                     w.files_[it->second]->path());
        }
      }
      return w;
    }
    if (exists_file(single)) {
      WeightSet w = open_file(single.string());
      w.origin_ = folder;
      return w;
    }
  }
  fail(ErrorKind::kIo, folder,
       ": no weights found (expected diffusion_pytorch_model.safetensors, model.safetensors, "
       "or a *.safetensors.index.json with shards)");
}

const TensorInfo* WeightSet::info(const std::string& name) const {
  auto it = where_.find(name);
  return it == where_.end() ? nullptr : files_[it->second]->find(name);
}

const std::shared_ptr<SafetensorsFile>& WeightSet::file_of(const std::string& name) const {
  auto it = where_.find(name);
  MOVA_CHECK(it != where_.end(), ErrorKind::kFormat, origin_, ": missing tensor '", name, "'");
  return files_[it->second];
}

Tensor WeightSet::get_host(const std::string& name) const {
  return file_of(name)->tensor(name);
}

Tensor WeightSet::get(const std::string& name) const {
  if (device_.is_cpu()) return get_host(name);
  // Keyed by origin too: sets of several components share one cache. The source is kept by
  // the cache (for prefetching): it holds the file, not this set.
  return device_copies_->get(origin_ + "\n" + name,
                             [file = file_of(name), name] { return file->tensor(name); });
}

void WeightSet::place_on(Device device) {
  if (device == device_) return;
  device_ = device;
  device_copies_ = device.is_cpu() ? nullptr : std::make_shared<DeviceWeightCache>(device);
}

void WeightSet::place_on(std::shared_ptr<DeviceWeightCache> cache) {
  MOVA_CHECK(cache != nullptr, ErrorKind::kInternal, origin_, ": null device weight cache");
  device_ = cache->device();
  device_copies_ = std::move(cache);
}

std::vector<std::string> WeightSet::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [name, idx] : where_) out.push_back(name);
  return out;
}

}  // namespace mova
