// Leveled logging. The library never prints directly: messages go to a sink that the
// application (CLI, server, C API user) can replace; the default sink writes to stderr.
#pragma once

#include <functional>
#include <string>

#include "runtime/error.h"

namespace mova {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kSilent = 4 };

using LogSink = std::function<void(LogLevel, const std::string&)>;

void set_log_level(LogLevel level);
LogLevel log_level();
// Passing an empty sink restores the default (stderr).
void set_log_sink(LogSink sink);
void log_message(LogLevel level, const std::string& message);
// Parses "debug", "info", "warn", "error", "silent".
LogLevel parse_log_level(const std::string& name);

}  // namespace mova

#define MOVA_LOG(level, ...)                                      \
  do {                                                            \
    if ((level) >= ::mova::log_level())                           \
      ::mova::log_message((level), ::mova::str_cat(__VA_ARGS__)); \
  } while (0)
#define MOVA_LOG_DEBUG(...) MOVA_LOG(::mova::LogLevel::kDebug, __VA_ARGS__)
#define MOVA_LOG_INFO(...) MOVA_LOG(::mova::LogLevel::kInfo, __VA_ARGS__)
#define MOVA_LOG_WARN(...) MOVA_LOG(::mova::LogLevel::kWarn, __VA_ARGS__)
#define MOVA_LOG_ERROR(...) MOVA_LOG(::mova::LogLevel::kError, __VA_ARGS__)
