#include "models/tensor_layout.h"

#include <set>

#include "io/weight_set.h"
#include "runtime/error.h"

namespace mova {

int64_t TensorLayout::parameter_count() const {
  int64_t n = 0;
  for (const auto& s : specs_) n += shape_numel(s.shape);
  return n;
}

const TensorSpec* TensorLayout::find(const std::string& name) const {
  for (const auto& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

namespace {

constexpr size_t kListed = 8;

void append_list(std::string& msg, const char* title, const std::vector<std::string>& items) {
  if (items.empty()) return;
  msg += str_cat("\n  ", items.size(), " ", title, ":");
  for (size_t i = 0; i < items.size() && i < kListed; ++i) msg += "\n    " + items[i];
  if (items.size() > kListed) msg += str_cat("\n    ... and ", items.size() - kListed, " more");
}

}  // namespace

void check_layout(const WeightSet& weights, const TensorLayout& layout, const std::string& what) {
  std::vector<std::string> missing, unexpected, misshaped, bad_dtype;
  std::set<std::string> expected;
  for (const auto& spec : layout.specs()) {
    expected.insert(spec.name);
    const TensorInfo* info = weights.info(spec.name);
    if (!info) {
      missing.push_back(spec.name + " " + shape_str(spec.shape));
      continue;
    }
    if (info->shape != spec.shape)
      misshaped.push_back(str_cat(spec.name, ": expected ", shape_str(spec.shape), ", found ",
                                  shape_str(info->shape)));
    if (!dtype_is_float(info->dtype))
      bad_dtype.push_back(str_cat(spec.name, ": ", dtype_name(info->dtype)));
  }
  for (const auto& name : weights.names())
    if (!expected.count(name)) unexpected.push_back(name);
  if (missing.empty() && unexpected.empty() && misshaped.empty() && bad_dtype.empty()) return;
  std::string msg = str_cat(what, ": weights do not match config.json");
  append_list(msg, "missing", missing);
  append_list(msg, "unexpected", unexpected);
  append_list(msg, "with the wrong shape", misshaped);
  append_list(msg, "with a non-float dtype", bad_dtype);
  throw Error(ErrorKind::kFormat, msg);
}

}  // namespace mova
