#include "runtime/cuda/device.h"

#include <cstdio>

#include "runtime/cuda/cuda_check.h"

namespace mova::cuda {

void fail_cuda(cudaError_t status, const char* call, const char* file, int line) {
  std::string message = str_cat("CUDA error ", cudaGetErrorName(status), " (",
                                cudaGetErrorString(status), ") in ", call, " at ", file, ":", line);
  if (status == cudaErrorMemoryAllocation) {
    // Not sticky: cleared, so that a recovery (tiled decoding) does not meet it again at its
    // first launch check.
    cudaGetLastError();
    throw OutOfMemoryError(/*on_host=*/false, message);
  }
  throw Error(ErrorKind::kInternal, message);
}

void fail_cublas(cublasStatus_t status, const char* call, const char* file, int line) {
  std::string message =
      str_cat("cuBLAS error ", cublasLtGetStatusName(status), " (", cublasLtGetStatusString(status),
              ") in ", call, " at ", file, ":", line);
  if (status == CUBLAS_STATUS_ALLOC_FAILED) throw OutOfMemoryError(/*on_host=*/false, message);
  throw Error(ErrorKind::kInternal, message);
}

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // no driver / no device: clear the sticky status, report none
    return 0;
  }
  return n;
}

DeviceInfo device_info(int index) {
  const int n = device_count();
  MOVA_CHECK(index >= 0 && index < n, ErrorKind::kInvalidArgument, "no CUDA device ", index,
             n == 0 ? " (this machine has no usable CUDA device or driver)"
                    : str_cat(" (devices 0..", n - 1, " exist)"));
  cudaDeviceProp p{};
  MOVA_CUDA_CHECK(cudaGetDeviceProperties(&p, index));
  return {index, p.name, p.major, p.minor, p.totalGlobalMem, p.multiProcessorCount};
}

std::string describe(const DeviceInfo& info) {
  char gib[32];
  std::snprintf(gib, sizeof gib, "%.1f", static_cast<double>(info.total_bytes) / (1 << 30));
  return str_cat(info.name, " (sm_", info.major, info.minor, ", ", info.multiprocessors, " SMs, ",
                 gib, " GiB)");
}

void set_device(int index) {
  device_info(index);
  MOVA_CUDA_CHECK(cudaSetDevice(index));
}

ScopedDevice::ScopedDevice(int index) noexcept {
  if (cudaGetDevice(&previous_) != cudaSuccess) {
    cudaGetLastError();
    previous_ = -1;
    return;
  }
  ok_ = previous_ == index || cudaSetDevice(index) == cudaSuccess;
  if (!ok_) cudaGetLastError();
}

ScopedDevice::~ScopedDevice() {
  int current = -1;
  if (previous_ >= 0 && cudaGetDevice(&current) == cudaSuccess && current != previous_)
    cudaSetDevice(previous_);
}

}  // namespace mova::cuda
