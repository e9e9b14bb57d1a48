// BF16 attention through cuDNN's fused flash attention: the graph API's SDPA forward operation,
// cuDNN's own kernels (on Hopper, wgmma and TMA, which attention_tc.cu's Ampere-style mma.sync
// does not use). It takes what the DiTs and the bridge ask for: BF16, no bias, no key mask, head
// size a multiple of 8 up to 128, every row 16-byte aligned, the output [B, Lq, H, D]
// contiguous. One execution plan per shape and layout, built on first use and kept; a problem
// cuDNN offers no engine for is remembered, logged once, and left to the caller's kernel.
// The library is optional (cudnn_library.h).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <memory>

#include "runtime/allocator.h"
#include "runtime/cuda/kernels/attention.h"

namespace mova::cuda {

class CudnnAttention {
 public:
  // Creates a cuDNN handle on `device` when the library is there (else run() returns false).
  // Workspaces come from `workspaces` (a pool of that device, which must outlive this) when
  // given, else from a pool of its own.
  explicit CudnnAttention(int device, BufferPool* workspaces = nullptr);
  ~CudnnAttention();
  CudnnAttention(const CudnnAttention&) = delete;
  CudnnAttention& operator=(const CudnnAttention&) = delete;

  // Whether `a` is a problem this path takes (before asking cuDNN for a plan).
  static bool takes(const AttentionArgs& a);

  // Whether the library is loaded and a handle was made on the device.
  bool available() const;

  // Enqueues `a` on `stream` and returns true; or returns false having enqueued nothing, when
  // cuDNN is not available, `a` is not a problem this path takes, cuDNN has no engine for it,
  // its workspace does not fit, or cuDNN fails to run it (logged; the shape is not tried again).
  bool run(const AttentionArgs& a, cudaStream_t stream = nullptr);

  // Problems asked about so far (each planned once, with or without an engine). For tests.
  size_t cached_plans() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mova::cuda
