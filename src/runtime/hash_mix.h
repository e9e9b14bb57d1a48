// Combining hashes of a key's fields (boost's hash_combine recurrence), for the plan caches
// keyed by problem shape (runtime/cuda/blas.cc, runtime/cuda/cudnn_attention.cc).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace mova {

inline void hash_mix(size_t& h, uint64_t v) {
  h ^= std::hash<uint64_t>{}(v) + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
}

}  // namespace mova
