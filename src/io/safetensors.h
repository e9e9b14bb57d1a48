// The safetensors format: 8-byte little-endian header length N, N bytes of JSON
// {"name": {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}},
// then the tensor bytes. Everything in a header is untrusted: see parse_safetensors_header for
// the checks. Files are memory-mapped and tensors are views into the map.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace mova {

class MappedFile;

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  Shape shape;
  uint64_t begin = 0;  // byte range inside the data section
  uint64_t end = 0;
  int64_t numel() const { return shape_numel(shape); }
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;
  uint64_t data_offset = 0;  // where the data section starts in the file
};

// Largest header accepted; real checkpoints use well under 1 MiB.
constexpr uint64_t kMaxSafetensorsHeader = 100ull << 20;

// Parses and validates the header of a safetensors image of `size` bytes: length bound, JSON
// syntax, no duplicate names, known dtypes, non-negative shapes whose byte size neither
// overflows nor differs from the offsets, offsets that tile the data section exactly in order
// (no gaps, no overlap, nothing past the end). `origin` names the file in error messages.
SafetensorsHeader parse_safetensors_header(const unsigned char* data, size_t size,
                                           const std::string& origin);

class SafetensorsFile {
 public:
  static std::shared_ptr<SafetensorsFile> open(const std::string& path);

  const std::string& path() const;
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const TensorInfo* find(const std::string& name) const;
  bool contains(const std::string& name) const { return find(name) != nullptr; }
  uint64_t file_size() const;

  // A view of the stored bytes (zero-copy unless the data is misaligned for its dtype).
  // Throws naming the file when the tensor does not exist.
  Tensor tensor(const std::string& name) const;

 private:
  std::shared_ptr<MappedFile> file_;
  SafetensorsHeader header_;
};

// Collects tensors and writes one safetensors file. The file appears atomically: it is
// written under a temporary name and renamed, so a failure never leaves a partial file.
class SafetensorsWriter {
 public:
  void add(const std::string& name, const Tensor& tensor);
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }
  void write(const std::string& path) const;
  size_t size() const { return tensors_.size(); }

 private:
  std::map<std::string, Tensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace mova
