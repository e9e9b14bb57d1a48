// Device memory: plain cudaMalloc/cudaFree behind the runtime's BufferPool (size classes, a
// cache bounded by the live peak, out-of-memory retry), so device activations are pooled
// exactly as host ones are. No managed memory.
#pragma once

#include <cstddef>
#include <memory>

#include <cuda_runtime_api.h>

#include "runtime/allocator.h"

namespace mova::cuda {

// cudaMalloc/cudaFree on `device` (made current for each call); named "cuda:N" in errors.
RawAllocator device_allocator(int device);

// Synchronous copies (the CPU needs the result, or the GPU the input, right away).
void copy_to_device(void* dst, const void* src, size_t bytes);
void copy_to_host(void* dst, const void* src, size_t bytes);

}  // namespace mova::cuda
