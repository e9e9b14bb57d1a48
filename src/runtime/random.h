// A portable, seedable random source (splitmix64). std::normal_distribution differs between
// standard libraries, and seeded outputs (tiny checkpoints, generation noise) must be
// identical on every platform and thread count.
#pragma once

#include <cmath>
#include <cstdint>

namespace mova {

struct SplitMix64 {
  uint64_t state;

  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in (0, 1): never 0, so log() below is finite.
  double uniform() {
    return (static_cast<double>(next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
  }
  // Standard normal (Box-Muller, one value per two uniforms).
  double normal() {
    return std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
  }
};

}  // namespace mova
