// Which SIMD kernels this CPU can run. Kernels are compiled with per-function target
// attributes and chosen at run time, so one binary runs on any x86-64 and uses AVX-512 where
// present. MOVA_CPU_ISA=scalar|avx2|avx512 caps the choice (tests use it to cover every path).
#pragma once

namespace mova::cpu {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// The best ISA supported by the CPU, capped by MOVA_CPU_ISA and by set_isa_cap().
Isa active_isa();
const char* isa_name(Isa isa);
// Caps the ISA used by kernels from now on (for tests and benchmarks).
void set_isa_cap(Isa cap);

}  // namespace mova::cpu
