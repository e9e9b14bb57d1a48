// Errors inside the engine are exceptions carrying a category; the C API and the CLI turn the
// category into a status code / exit code. Messages always name the file, tensor, option or
// shape involved, because "invalid argument" alone tells a user nothing.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace mova {

enum class ErrorKind {
  kInvalidArgument = 1,  // a bad option or parameter value
  kIo = 2,               // a file could not be opened, read or written
  kFormat = 3,           // a file exists but its contents are malformed
  kShape = 4,            // tensor shapes/dtypes do not fit together
  kUnsupported = 5,      // valid input we do not (yet) handle
  kInternal = 6,         // a bug in mova.cpp
  kAborted = 7,          // the caller asked us to stop
  kOutOfMemory = 8,      // host or device memory ran out (an allocation failed)
};

const char* error_kind_name(ErrorKind kind);

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

// Memory ran out, and whose: a caller can recover from a GPU's (decode in tiles, upload the
// weights at their use) but not from the host's, which such a recovery needs more of.
class OutOfMemoryError : public Error {
 public:
  OutOfMemoryError(bool on_host, const std::string& message)
      : Error(ErrorKind::kOutOfMemory, message), on_host_(on_host) {}
  bool on_host() const { return on_host_; }

 private:
  bool on_host_;
};

// Whether `e` says that a device's memory ran out (an OutOfMemoryError not on the host). An
// out-of-memory Error that does not say where counts as the host's: no recovery is attempted.
bool is_device_out_of_memory(const Error& e);

// Concatenates any streamable values: str_cat("tensor ", name, " has ", n, " dims").
template <typename... Args>
std::string str_cat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}

template <typename... Args>
[[noreturn]] void fail(ErrorKind kind, Args&&... args) {
  throw Error(kind, str_cat(std::forward<Args>(args)...));
}

}  // namespace mova

// MOVA_CHECK(cond, kind, message parts...) throws mova::Error when cond is false.
#define MOVA_CHECK(cond, kind, ...)                 \
  do {                                              \
    if (!(cond)) ::mova::fail((kind), __VA_ARGS__); \
  } while (0)

// For invariants that only a bug can break.
#define MOVA_ASSERT(cond)                                                 \
  do {                                                                    \
    if (!(cond))                                                          \
      ::mova::fail(::mova::ErrorKind::kInternal, __FILE__, ":", __LINE__, \
                   ": internal check failed: " #cond);                    \
  } while (0)
