// The sm_80 warp-level instructions the tensor-core kernels are written with, one function each:
// mma.sync m16n8k16 (BF16 in, F32 accumulate), ldmatrix (plain and transposed, four 8×8
// matrices) and cp.async (16-byte global→shared copies in commit groups). Fragment layouts are
// PTX's (ISA, "Matrix fragments for mma.m16n8k16"): with g = lane / 4 and t = lane % 4,
//   A 16×16 row-major, 4 registers of 2 BF16: {A[g][2t..], A[g+8][2t..], A[g][2t+8..],
//     A[g+8][2t+8..]};
//   B 16×8 (k × n), 2 registers: {B[2t..][g], B[2t+8..][g]} (pairs run down k);
//   C/D 16×8 F32, 4 floats: {C[g][2t], C[g][2t+1], C[g+8][2t], C[g+8][2t+1]}.
// ldmatrix.x4: lanes 8j..8j+7 give the row addresses of matrix j, and register j of each lane
// receives matrix j's {M[g][2t], M[g][2t+1]} ({M[2t][g], M[2t+1][g]} transposed).
//
// The CUDA emulator (tests/cuda_emulator) builds the kernels with its own implementation of
// these functions, which executes those layouts on the CPU.
#pragma once

#include <cuda_bf16.h>

#include <cstdint>

#if defined(MOVA_CUDA_EMULATOR)
#include <mova_emulated_ptx.h>
#else

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error "warp_mma.cuh needs sm_80 or newer (mma.sync BF16, ldmatrix, cp.async)"
#endif

namespace mova::cuda::ptx {

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// r[j] = this lane's pair of matrix j, whose 8 rows lanes 8j..8j+7 address (16-byte aligned).
// The "memory" clobbers keep the compiler from moving plain shared-memory stores across them.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row))
               : "memory");
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row))
               : "memory");
}

// d += a·b for one 16×8×16 tile.
__device__ __forceinline__ void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                               uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Starts copying 16 bytes from global `src` to shared `dst` (both 16-byte aligned); with
// `fill` false it writes 16 zero bytes instead and reads nothing.
__device__ __forceinline__ void cp_async_16(void* dst, const void* src, bool fill) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(dst)),
               "l"(__cvta_generic_to_global(src)), "r"(fill ? 16 : 0)
               : "memory");
}
// Closes the group of this thread's copies started since the last commit.
__device__ __forceinline__ void cp_async_commit() {
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}
// Waits until at most `pending` of this thread's committed groups are in flight. Other threads
// see the data after a barrier that follows the wait.
template <int pending>
__device__ __forceinline__ void cp_async_wait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(pending) : "memory");
}

}  // namespace mova::cuda::ptx

#endif  // MOVA_CUDA_EMULATOR

namespace mova::cuda::ptx {

// Two BF16 in one register as the fragments hold them: `lo` (the lower column or k) in bits
// 0..15.
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
  const __nv_bfloat16 l = __float2bfloat16(lo), h = __float2bfloat16(hi);
  return static_cast<uint32_t>(__bfloat16_as_ushort(l)) |
         static_cast<uint32_t>(__bfloat16_as_ushort(h)) << 16;
}

}  // namespace mova::cuda::ptx
