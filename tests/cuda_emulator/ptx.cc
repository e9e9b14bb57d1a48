// CUDA emulator: the warp-level instructions of src/runtime/cuda/kernels/warp_mma.cuh with the
// fragment layouts PTX specifies (restated there), written from the ISA's tables rather than
// from the kernels, so a kernel that indexes a fragment wrongly computes a wrong answer here.
#include <mova_emulated_ptx.h>

#include <cstdio>
#include <cstring>

#include "cuda_runtime.h"
#include "emulator.h"

namespace mova::cuda::ptx {
namespace {

namespace emu = ::mova::cuda_emulator;

float bf16_to_float(uint32_t bits16) {
  const uint32_t u = bits16 << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

// Half `half` (0: bits 0..15) of a register.
uint32_t half_of(uint32_t reg, int half) {
  return half ? reg >> 16 : reg & 0xffffu;
}

bool row_address_ok(const void* row, const char* op) {
  if (reinterpret_cast<uintptr_t>(row) % 16 != 0 || !emu::in_shared_memory(row, 16)) {
    char what[160];
    std::snprintf(what, sizeof what, "%s: row address %p is not 16 bytes of shared memory", op,
                  row);
    emu::kernel_fault(what);
    return false;
  }
  return true;
}

// Every lane's row address, gathered.
bool gather_rows(const void* row, const unsigned char* (&rows)[32], const char* op) {
  const bool ok = row_address_ok(row, op);
  uint32_t mine[2];
  const auto p = reinterpret_cast<uintptr_t>(row);
  mine[0] = static_cast<uint32_t>(p), mine[1] = static_cast<uint32_t>(p >> 32);
  uint32_t all[64];
  emu::warp_gather(mine, 2, all);
  for (int lane = 0; lane < 32; ++lane)
    rows[lane] = reinterpret_cast<const unsigned char*>(  // NOLINT(performance-no-int-to-ptr)
        static_cast<uintptr_t>(all[2 * lane]) | static_cast<uintptr_t>(all[2 * lane + 1]) << 32);
  return ok;
}

uint16_t element(const unsigned char* row, int column) {
  uint16_t v;
  std::memcpy(&v, row + 2 * column, sizeof v);
  return v;
}

}  // namespace

void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  const unsigned char* rows[32];
  if (!gather_rows(row, rows, "ldmatrix")) return;
  const int lane = emu::lane_id(), g = lane / 4, t = lane % 4;
  for (int j = 0; j < 4; ++j) {
    const unsigned char* matrix_row = rows[8 * j + g];
    r[j] = element(matrix_row, 2 * t) | static_cast<uint32_t>(element(matrix_row, 2 * t + 1)) << 16;
  }
}

void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  const unsigned char* rows[32];
  if (!gather_rows(row, rows, "ldmatrix.trans")) return;
  const int lane = emu::lane_id(), g = lane / 4, t = lane % 4;
  for (int j = 0; j < 4; ++j)
    r[j] = element(rows[8 * j + 2 * t], g) |
           static_cast<uint32_t>(element(rows[8 * j + 2 * t + 1], g)) << 16;
}

void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1) {
  uint32_t as[32 * 4], bs[32 * 2];
  const uint32_t b[2] = {b0, b1};
  emu::warp_gather(a, 4, as);
  emu::warp_gather(b, 2, bs);
  // A[r][c]: register (r ≥ 8) + 2·(c ≥ 8) of lane 4·(r mod 8) + (c mod 8)/2, half c mod 2.
  const auto A = [&as](int r, int c) {
    const int lane = 4 * (r % 8) + (c % 8) / 2, reg = (r >= 8 ? 1 : 0) + (c >= 8 ? 2 : 0);
    return bf16_to_float(half_of(as[4 * lane + reg], c % 2));
  };
  // B[k][n]: register (k ≥ 8) of lane 4·n + (k mod 8)/2, half k mod 2.
  const auto B = [&bs](int k, int n) {
    const int lane = 4 * n + (k % 8) / 2, reg = k >= 8 ? 1 : 0;
    return bf16_to_float(half_of(bs[2 * lane + reg], k % 2));
  };
  const int lane = emu::lane_id(), g = lane / 4, t = lane % 4;
  for (int i = 0; i < 4; ++i) {
    const int r = g + (i >= 2 ? 8 : 0), n = 2 * t + i % 2;
    float s = d[i];
    for (int k = 0; k < 16; ++k) s += A(r, k) * B(k, n);  // products of BF16s are exact in F32
    d[i] = s;
  }
}

void cp_async_16(void* dst, const void* src, bool fill) {
  if (reinterpret_cast<uintptr_t>(dst) % 16 != 0 || !emu::in_shared_memory(dst, 16)) {
    emu::kernel_fault("cp.async: the destination is not 16 aligned bytes of shared memory");
    return;
  }
  if (fill) {
    const auto a = emu::find_allocation(src, 16);
    if (reinterpret_cast<uintptr_t>(src) % 16 != 0 || !a || a->device != emu::current_device()) {
      emu::kernel_fault("cp.async: the source is not 16 aligned bytes of this device's memory");
      return;
    }
  }
  // In flight the destination holds neither old nor new data reliably: 0xFF bytes until the
  // wait, so reading it early, or overwriting a tile another warp still reads, shows as NaN.
  std::memset(dst, 0xff, 16);
  emu::async_copy_start([dst, src, fill] {
    if (fill)
      std::memcpy(dst, src, 16);
    else
      std::memset(dst, 0, 16);
  });
}

void cp_async_commit() {
  emu::async_copy_commit();
}

void cp_async_wait_group(int pending) {
  emu::async_copy_wait(pending);
}

}  // namespace mova::cuda::ptx
