// A strided view over host or device memory. Copying a Tensor copies the view, not the data:
// storage is shared and kept alive by `holder_` (a pooled buffer, a plain allocation, or a
// memory-mapped checkpoint file). View operations (reshape, narrow, permute, ...) never copy;
// contiguous() and to() do. Element access from the host (data<T>(), item_f32, to_vector) is for
// host tensors only and fails naming the tensor otherwise; a device tensor's copies run on its
// device's backend (runtime/backend.h).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "runtime/dtype.h"

namespace mova {

class BufferPool;
using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& shape);
// Product of dims, with a check that it neither overflows nor is negative.
int64_t shape_numel(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;

  // Uninitialised contiguous tensor; from `pool` when given, on the pool's device.
  static Tensor empty(const Shape& shape, DType dtype, BufferPool* pool = nullptr);
  // Uninitialised contiguous tensor on `device` (from its backend's pool).
  static Tensor empty(const Shape& shape, DType dtype, Device device);
  static Tensor zeros(const Shape& shape, DType dtype, BufferPool* pool = nullptr);
  static Tensor full(const Shape& shape, float value, BufferPool* pool = nullptr);
  // Copies `values` (length must equal the shape's numel) into a new F32 tensor.
  static Tensor from_vector(const Shape& shape, const std::vector<float>& values);
  // Wraps memory owned by `holder` (e.g. an mmap) without copying.
  static Tensor wrap(void* data, const Shape& shape, DType dtype, std::shared_ptr<void> holder,
                     Device device = Device::cpu());

  bool defined() const { return data_ != nullptr || numel() == 0; }
  // Whether another tensor (a copy, a view, a cache's entry) may hold this one's storage too, so
  // that writing into it in place would change what that one reads.
  bool storage_shared() const { return holder_.use_count() != 1; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int dim() const { return static_cast<int>(shape_.size()); }
  int64_t size(int d) const;  // negative d counts from the end
  int64_t stride(int d) const;
  int64_t numel() const;
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool is_contiguous() const;

  // A label used in error messages (e.g. the checkpoint key).
  const std::string& name() const { return name_; }
  Tensor& set_name(std::string name) {
    name_ = std::move(name);
    return *this;
  }
  // "name [1, 16, 5, 44, 80] F32", for messages.
  std::string describe() const;

  // The address of element [0, ...] on the tensor's device (kernels' pointer arguments).
  void* raw_data() const { return data_; }
  // Host access; fails for a device tensor or an element type of another size.
  template <typename T>
  T* data() const {
    check_host_access(sizeof(T));
    return static_cast<T*>(data_);
  }

  // Views.
  Tensor reshape(const Shape& shape) const;  // one dim may be -1; requires contiguity
  Tensor narrow(int d, int64_t start, int64_t length) const;
  Tensor select(int d, int64_t index) const;  // drops dimension d
  Tensor permute(const std::vector<int>& order) const;
  Tensor transpose(int a, int b) const;
  Tensor unsqueeze(int d) const;
  Tensor squeeze(int d) const;
  // PyTorch's expand: size-1 dims (and new leading dims) repeat with stride 0, without copying.
  Tensor expand(const Shape& shape) const;

  // Copies, on the tensor's device: `pool` is used when it belongs to that device.
  Tensor contiguous(BufferPool* pool = nullptr) const;  // returns *this when already contiguous
  Tensor clone(BufferPool* pool = nullptr) const;
  Tensor to(DType dtype, BufferPool* pool = nullptr) const;  // float dtypes only
  // A copy on `device` (*this when already there); `pool`, when given, must be on `device`.
  Tensor to(Device device, BufferPool* pool = nullptr) const;
  // An uninitialised contiguous tensor on this tensor's device, from `pool` if it is there.
  Tensor empty_here(const Shape& shape, DType dtype, BufferPool* pool = nullptr) const;
  // Copies src into this tensor (same shape; dtypes may differ when both are float). Either
  // may be on a device: a host/device pair is a transfer.
  void copy_from(const Tensor& src);

  // Element access for tests and small host-side work; converts to/from f32.
  float item_f32(const std::vector<int64_t>& index) const;
  std::vector<float> to_vector() const;

 private:
  void check_host_access(size_t element_size) const;
  int wrap_dim(int d, int rank) const;

  std::shared_ptr<void> holder_;
  void* data_ = nullptr;  // address of element [0, 0, ...]
  Shape shape_;
  Shape strides_;  // in elements
  DType dtype_ = DType::kF32;
  Device device_;
  std::string name_;
};

Shape contiguous_strides(const Shape& shape);

}  // namespace mova
