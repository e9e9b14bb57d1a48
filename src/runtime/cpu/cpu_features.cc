#include "runtime/cpu/cpu_features.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>

namespace mova::cpu {
namespace {

Isa detect() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return Isa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
#endif
  return Isa::kScalar;
}

Isa env_cap() {
  const char* v = std::getenv("MOVA_CPU_ISA");
  if (!v) return Isa::kAvx512;
  if (!std::strcmp(v, "scalar")) return Isa::kScalar;
  if (!std::strcmp(v, "avx2")) return Isa::kAvx2;
  return Isa::kAvx512;
}

std::atomic<int> g_cap{static_cast<int>(Isa::kAvx512)};

}  // namespace

Isa active_isa() {
  static const Isa hw = detect();
  static const Isa env = env_cap();
  const int best = std::min({static_cast<int>(hw), static_cast<int>(env), g_cap.load()});
  return static_cast<Isa>(best);
}

void set_isa_cap(Isa cap) {
  g_cap.store(static_cast<int>(cap));
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

}  // namespace mova::cpu
