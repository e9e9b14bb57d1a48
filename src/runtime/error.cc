#include "runtime/error.h"

namespace mova {

const char* error_kind_name(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument:
      return "invalid argument";
    case ErrorKind::kIo:
      return "I/O error";
    case ErrorKind::kFormat:
      return "format error";
    case ErrorKind::kShape:
      return "shape error";
    case ErrorKind::kUnsupported:
      return "unsupported";
    case ErrorKind::kInternal:
      return "internal error";
    case ErrorKind::kAborted:
      return "aborted";
    case ErrorKind::kOutOfMemory:
      return "out of memory";
  }
  return "error";
}

bool is_device_out_of_memory(const Error& e) {
  const auto* oom = dynamic_cast<const OutOfMemoryError*>(&e);
  return oom != nullptr && !oom->on_host();
}

}  // namespace mova
