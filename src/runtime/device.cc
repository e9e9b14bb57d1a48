#include "runtime/device.h"

#include <charconv>

#include "runtime/error.h"

namespace mova {

std::string Device::str() const {
  return is_cpu() ? std::string("cpu") : "cuda:" + std::to_string(index);
}

Device parse_device(const std::string& text, const std::string& option) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda") return Device::cuda(0);
  const std::string prefix = "cuda:";
  if (text.rfind(prefix, 0) == 0 && text.size() > prefix.size()) {
    const char* first = text.data() + prefix.size();
    const char* last = text.data() + text.size();
    int index = -1;
    const auto [end, ec] = std::from_chars(first, last, index);
    if (ec == std::errc() && end == last && index >= 0) return Device::cuda(index);
  }
  fail(ErrorKind::kInvalidArgument, option, ": unknown device '", text,
       "' (expected cpu, cuda or cuda:N)");
}

}  // namespace mova
