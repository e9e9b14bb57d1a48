#include "runtime/cuda/device_memory.h"

#include <string>

#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/device.h"

namespace mova::cuda {

RawAllocator device_allocator(int device) {
  set_device(device);  // checks the index once, up front
  return {"cuda:" + std::to_string(device), Device::cuda(device),
          [device](size_t bytes) -> void* {
            void* p = nullptr;
            const ScopedDevice on(device);
            MOVA_CHECK(on.ok(), ErrorKind::kInternal, "CUDA: cannot make device ", device,
                       " current to allocate ", bytes, " bytes");
            const cudaError_t status = cudaMalloc(&p, bytes);
            if (status == cudaErrorMemoryAllocation) {
              cudaGetLastError();  // out of memory is reported by the pool, not sticky here
              return nullptr;
            }
            // Anything else (a fault left by an earlier kernel) is not out of memory: say so.
            MOVA_CUDA_CHECK(status);
            return p;
          },
          [device](void* p) {
            // A destructor path: report nothing; a failing free leaves the device unusable
            // and the next checked call says so.
            const ScopedDevice on(device);
            cudaFree(p);
          }};
}

void copy_to_device(void* dst, const void* src, size_t bytes) {
  MOVA_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void copy_to_host(void* dst, const void* src, size_t bytes) {
  MOVA_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

}  // namespace mova::cuda
