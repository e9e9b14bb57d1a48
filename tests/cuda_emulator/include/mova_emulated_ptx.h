// CUDA emulator (tests/cuda_emulator): the warp-level PTX instructions of
// src/runtime/cuda/kernels/warp_mma.cuh, executed with the fragment layouts that header states
// (ptx.cc). ldmatrix and mma.sync are warp collectives here as on the GPU: every lane of the
// warp must arrive, each hands in its operands, and each leaves with its own share of the
// result. A cp.async fills its destination with 0xFF bytes at once and copies at the
// cp_async_wait that covers it, so reading a tile before that wait (and a barrier after it),
// or starting a copy over a tile another warp still reads, reads NaNs.
#pragma once

#include <cstdint>

namespace mova::cuda::ptx {

void ldmatrix_x4(uint32_t (&r)[4], const void* row);
void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row);
void mma_bf16_16816(float (&d)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1);
void cp_async_16(void* dst, const void* src, bool fill);
void cp_async_commit();
void cp_async_wait_group(int pending);
template <int pending>
void cp_async_wait() {
  cp_async_wait_group(pending);
}

}  // namespace mova::cuda::ptx
