// Process memory figures for reports (per-stage tables, benchmarks).
#pragma once

#include <sys/resource.h>

#include <cstdint>

namespace mova {

// Peak resident set size of this process so far, in bytes (Linux reports KiB).
inline int64_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<int64_t>(u.ru_maxrss) * 1024;
}

}  // namespace mova
