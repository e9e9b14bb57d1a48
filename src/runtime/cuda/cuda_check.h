// Turns CUDA runtime and cuBLAS status codes into mova::Error with the failing call's text.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include "runtime/error.h"

namespace mova::cuda {

[[noreturn]] void fail_cuda(cudaError_t status, const char* call, const char* file, int line);
[[noreturn]] void fail_cublas(cublasStatus_t status, const char* call, const char* file, int line);

}  // namespace mova::cuda

#define MOVA_CUDA_CHECK(call)                                           \
  do {                                                                  \
    const cudaError_t mova_status_ = (call);                            \
    if (mova_status_ != cudaSuccess)                                    \
      ::mova::cuda::fail_cuda(mova_status_, #call, __FILE__, __LINE__); \
  } while (0)

#define MOVA_CUBLAS_CHECK(call)                                           \
  do {                                                                    \
    const cublasStatus_t mova_status_ = (call);                           \
    if (mova_status_ != CUBLAS_STATUS_SUCCESS)                            \
      ::mova::cuda::fail_cublas(mova_status_, #call, __FILE__, __LINE__); \
  } while (0)
