#include "io/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>

#include "io/atomic_file.h"
#include "io/mapped_file.h"
#include "runtime/allocator.h"
#include "runtime/error.h"

namespace mova {
namespace {

using json = nlohmann::json;

uint64_t read_u64_le(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint64_t as_u64(const json& v, const std::string& origin, const std::string& name,
                const char* field) {
  MOVA_CHECK(v.is_number_unsigned() || (v.is_number_integer() && v.get<int64_t>() >= 0),
             ErrorKind::kFormat, origin, ": tensor '", name, "': ", field,
             " must hold non-negative integers, got ", v.dump());
  return v.get<uint64_t>();
}

TensorInfo parse_entry(const std::string& name, const json& e, const std::string& origin) {
  MOVA_CHECK(!name.empty(), ErrorKind::kFormat, origin, ": tensor with an empty name");
  MOVA_CHECK(e.is_object(), ErrorKind::kFormat, origin, ": tensor '", name,
             "': entry is not a JSON object");
  for (const char* field : {"dtype", "shape", "data_offsets"})
    MOVA_CHECK(e.contains(field), ErrorKind::kFormat, origin, ": tensor '", name, "': missing '",
               field, "'");
  TensorInfo info;
  info.name = name;
  const json& dt = e["dtype"];
  MOVA_CHECK(dt.is_string(), ErrorKind::kFormat, origin, ": tensor '", name,
             "': dtype is not a string");
  const auto dtype = dtype_from_name(dt.get<std::string>());
  MOVA_CHECK(dtype.has_value(), ErrorKind::kFormat, origin, ": tensor '", name,
             "': unknown dtype '", dt.get<std::string>(), "'");
  info.dtype = *dtype;

  const json& shape = e["shape"];
  MOVA_CHECK(shape.is_array() && shape.size() <= 16, ErrorKind::kFormat, origin, ": tensor '", name,
             "': shape must be an array of at most 16 dims");
  uint64_t numel = 1;
  bool overflow = false;
  for (const json& d : shape) {
    const uint64_t v = as_u64(d, origin, name, "shape");
    MOVA_CHECK(v <= static_cast<uint64_t>(INT64_MAX), ErrorKind::kFormat, origin, ": tensor '",
               name, "': dimension ", v, " is too large");
    info.shape.push_back(static_cast<int64_t>(v));
    overflow |= __builtin_mul_overflow(numel, v, &numel);
  }
  uint64_t nbytes = 0;
  overflow |= __builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(info.dtype)), &nbytes);
  overflow |= numel > static_cast<uint64_t>(INT64_MAX);
  MOVA_CHECK(!overflow, ErrorKind::kFormat, origin, ": tensor '", name, "': shape ",
             shape_str(info.shape), " overflows");

  const json& off = e["data_offsets"];
  MOVA_CHECK(off.is_array() && off.size() == 2, ErrorKind::kFormat, origin, ": tensor '", name,
             "': data_offsets must be [begin, end]");
  info.begin = as_u64(off[0], origin, name, "data_offsets");
  info.end = as_u64(off[1], origin, name, "data_offsets");
  MOVA_CHECK(info.begin <= info.end, ErrorKind::kFormat, origin, ": tensor '", name,
             "': data_offsets [", info.begin, ", ", info.end, "] are reversed");
  MOVA_CHECK(info.end - info.begin == nbytes, ErrorKind::kFormat, origin, ": tensor '", name,
             "': shape ", shape_str(info.shape), " ", dtype_name(info.dtype), " needs ", nbytes,
             " bytes but data_offsets [", info.begin, ", ", info.end, "] hold ",
             info.end - info.begin);
  return info;
}

}  // namespace

SafetensorsHeader parse_safetensors_header(const unsigned char* data, size_t size,
                                           const std::string& origin) {
  MOVA_CHECK(size >= 8, ErrorKind::kFormat, origin, ": file is ", size,
             " bytes, too small to be safetensors (truncated?)");
  const uint64_t n = read_u64_le(data);
  MOVA_CHECK(n <= kMaxSafetensorsHeader, ErrorKind::kFormat, origin, ": header length ", n,
             " exceeds the ", kMaxSafetensorsHeader, "-byte limit (not a safetensors file?)");
  MOVA_CHECK(n <= size - 8, ErrorKind::kFormat, origin, ": header length ", n,
             " runs past the end of the ", size, "-byte file (truncated?)");
  MOVA_CHECK(n >= 2, ErrorKind::kFormat, origin, ": header length ", n, " is too small");

  // Duplicate names would make one tensor shadow another; nlohmann keeps the last silently.
  std::set<std::string> seen;
  std::string duplicate;
  json::parser_callback_t cb = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth == 1 && event == json::parse_event_t::key) {
      const std::string k = parsed.get<std::string>();
      if (!seen.insert(k).second && duplicate.empty()) duplicate = k;
    }
    return true;
  };
  const char* begin = reinterpret_cast<const char*>(data + 8);
  json header;
  try {
    header = json::parse(begin, begin + n, cb);
  } catch (const json::exception& e) {
    fail(ErrorKind::kFormat, origin, ": header is not valid JSON: ", e.what());
  }
  MOVA_CHECK(duplicate.empty(), ErrorKind::kFormat, origin, ": tensor '", duplicate,
             "' appears twice in the header");
  MOVA_CHECK(header.is_object(), ErrorKind::kFormat, origin, ": header is not a JSON object");

  SafetensorsHeader out;
  out.data_offset = 8 + n;
  for (auto it = header.begin(); it != header.end(); ++it) {
    if (it.key() == "__metadata__") {
      MOVA_CHECK(it.value().is_object(), ErrorKind::kFormat, origin,
                 ": __metadata__ is not an object");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        MOVA_CHECK(m.value().is_string(), ErrorKind::kFormat, origin, ": __metadata__ value '",
                   m.key(), "' is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    out.tensors.push_back(parse_entry(it.key(), it.value(), origin));
  }

  // Offsets must tile [0, data size) in order: no gaps, no overlaps, no trailing bytes.
  const uint64_t data_size = size - out.data_offset;
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : out.tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t cursor = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo* t : by_offset) {
    MOVA_CHECK(t->end <= data_size, ErrorKind::kFormat, origin, ": tensor '", t->name,
               "': data_offsets [", t->begin, ", ", t->end, "] run past the data section (",
               data_size, " bytes; truncated file?)");
    MOVA_CHECK(t->begin >= cursor, ErrorKind::kFormat, origin, ": tensor '", t->name,
               "': data_offsets [", t->begin, ", ", t->end, "] overlap tensor '",
               prev ? prev->name : "", "'");
    MOVA_CHECK(t->begin == cursor, ErrorKind::kFormat, origin, ": gap of ", t->begin - cursor,
               " bytes before tensor '", t->name, "'");
    cursor = t->end;
    prev = t;
  }
  MOVA_CHECK(cursor == data_size, ErrorKind::kFormat, origin, ": ", data_size - cursor,
             " bytes after the last tensor are not described by the header");
  std::sort(out.tensors.begin(), out.tensors.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  return out;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto f = std::shared_ptr<SafetensorsFile>(new SafetensorsFile());
  f->file_ = MappedFile::open(path);
  f->header_ = parse_safetensors_header(f->file_->data(), f->file_->size(), path);
  return f;
}

const std::string& SafetensorsFile::path() const {
  return file_->path();
}
uint64_t SafetensorsFile::file_size() const {
  return file_->size();
}

const TensorInfo* SafetensorsFile::find(const std::string& name) const {
  auto it = std::lower_bound(header_.tensors.begin(), header_.tensors.end(), name,
                             [](const TensorInfo& t, const std::string& n) { return t.name < n; });
  return it != header_.tensors.end() && it->name == name ? &*it : nullptr;
}

Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo* info = find(name);
  MOVA_CHECK(info, ErrorKind::kFormat, path(), ": no tensor named '", name, "'");
  const unsigned char* p = file_->data() + header_.data_offset + info->begin;
  const size_t align = dtype_size(info->dtype);
  Tensor t;
  if (reinterpret_cast<uintptr_t>(p) % align == 0) {
    t = Tensor::wrap(const_cast<unsigned char*>(p), info->shape, info->dtype, file_);
  } else {
    t = Tensor::empty(info->shape, info->dtype);
    std::memcpy(t.raw_data(), p, info->end - info->begin);
  }
  t.set_name(name);
  return t;
}

void SafetensorsWriter::add(const std::string& name, const Tensor& tensor) {
  MOVA_CHECK(!name.empty() && name != "__metadata__", ErrorKind::kInvalidArgument,
             "invalid tensor name '", name, "'");
  MOVA_CHECK(tensors_.emplace(name, tensor.contiguous()).second, ErrorKind::kInvalidArgument,
             "tensor '", name, "' added twice");
}

void SafetensorsWriter::write(const std::string& path) const {
  json header = json::object();
  if (!metadata_.empty()) header["__metadata__"] = metadata_;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors_) {
    const uint64_t bytes = t.nbytes();
    header[name] = {{"dtype", dtype_name(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  // Pad so the data section starts 8-byte aligned, as the reference writer does.
  while ((text.size() + 8) % 8 != 0) text.push_back(' ');
  AtomicFile out(path);
  unsigned char len[8];
  uint64_t n = text.size();
  for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(n >> (8 * i));
  out.write(len, 8);
  out.write(text.data(), text.size());
  for (const auto& [name, t] : tensors_) out.write(t.raw_data(), t.nbytes());
  out.commit();
}

}  // namespace mova
