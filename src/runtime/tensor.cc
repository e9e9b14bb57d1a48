#include "runtime/tensor.h"

#include <algorithm>
#include <numeric>

#include "runtime/allocator.h"
#include "runtime/backend.h"
#include "runtime/error.h"

namespace mova {

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    MOVA_CHECK(d >= 0, ErrorKind::kShape, "negative dimension in shape ", shape_str(shape));
    MOVA_CHECK(d == 0 || n <= INT64_MAX / d, ErrorKind::kShape, "shape ", shape_str(shape),
               " has too many elements");
    n *= d;
  }
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, BufferPool* pool) {
  Tensor t;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  const int64_t n = shape_numel(shape);
  const size_t bytes = static_cast<size_t>(n) * dtype_size(dtype);
  t.holder_ = pool ? pool->allocate(bytes) : allocate_aligned(bytes);
  t.data_ = t.holder_.get();
  if (pool) t.device_ = pool->device();
  return t;
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  if (device.is_cpu()) return empty(shape, dtype);
  return empty(shape, dtype, &backend_for(device, "Tensor::empty").buffers());
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, BufferPool* pool) {
  Tensor t = empty(shape, dtype, pool);
  t.check_host_access(dtype_size(dtype));
  std::memset(t.data_, 0, t.nbytes());
  return t;
}

Tensor Tensor::full(const Shape& shape, float value, BufferPool* pool) {
  Tensor t = empty(shape, DType::kF32, pool);
  std::fill_n(t.data<float>(), t.numel(), value);
  return t;
}

Tensor Tensor::from_vector(const Shape& shape, const std::vector<float>& values) {
  Tensor t = empty(shape, DType::kF32);
  MOVA_CHECK(static_cast<int64_t>(values.size()) == t.numel(), ErrorKind::kShape, "shape ",
             shape_str(shape), " needs ", t.numel(), " values, got ", values.size());
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

Tensor Tensor::wrap(void* data, const Shape& shape, DType dtype, std::shared_ptr<void> holder,
                    Device device) {
  Tensor t;
  t.device_ = device;
  t.holder_ = std::move(holder);
  t.data_ = data;
  t.shape_ = shape;
  t.strides_ = contiguous_strides(shape);
  t.dtype_ = dtype;
  shape_numel(shape);
  return t;
}

int Tensor::wrap_dim(int d, int rank) const {
  const int w = d < 0 ? d + rank : d;
  MOVA_CHECK(w >= 0 && w < rank, ErrorKind::kShape, "dimension ", d, " out of range for ",
             describe());
  return w;
}

int64_t Tensor::size(int d) const {
  return shape_[wrap_dim(d, dim())];
}
int64_t Tensor::stride(int d) const {
  return strides_[wrap_dim(d, dim())];
}
int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

bool Tensor::is_contiguous() const {
  // An empty tensor has no element whose address a stride could misplace; views of one (a
  // select or narrow of a zero-size dim) keep strides that the loop below would reject.
  if (numel() == 0) return true;
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

std::string Tensor::describe() const {
  std::string s = name_.empty() ? "tensor" : "tensor '" + name_ + "'";
  s += " " + shape_str(shape_) + " " + dtype_name(dtype_);
  return device_.is_cpu() ? s : s + " on " + device_.str();
}

void Tensor::check_host_access(size_t element_size) const {
  MOVA_CHECK(device_.is_cpu(), ErrorKind::kInternal, "host access to ", describe(),
             " (copy it to the host first)");
  MOVA_CHECK(element_size == dtype_size(dtype_), ErrorKind::kShape, "element type of size ",
             element_size, " requested from ", describe());
}

Tensor Tensor::reshape(const Shape& shape) const {
  MOVA_CHECK(is_contiguous(), ErrorKind::kShape, "reshape of non-contiguous ", describe());
  Shape s = shape;
  int infer = -1;
  int64_t known = 1;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == -1) {
      MOVA_CHECK(infer < 0, ErrorKind::kShape, "reshape to ", shape_str(shape),
                 ": more than one -1");
      infer = static_cast<int>(i);
    } else {
      MOVA_CHECK(s[i] >= 0, ErrorKind::kShape, "reshape to ", shape_str(shape));
      known *= s[i];
    }
  }
  if (infer >= 0) {
    MOVA_CHECK(known > 0 && numel() % known == 0, ErrorKind::kShape, "cannot reshape ", describe(),
               " to ", shape_str(shape));
    s[infer] = numel() / known;
  }
  MOVA_CHECK(shape_numel(s) == numel(), ErrorKind::kShape, "cannot reshape ", describe(), " to ",
             shape_str(shape));
  Tensor t = *this;
  t.shape_ = s;
  t.strides_ = contiguous_strides(s);
  return t;
}

Tensor Tensor::narrow(int d, int64_t start, int64_t length) const {
  d = wrap_dim(d, dim());
  MOVA_CHECK(start >= 0 && length >= 0 && start + length <= shape_[d], ErrorKind::kShape,
             "narrow(dim ", d, ", start ", start, ", length ", length, ") out of range for ",
             describe());
  Tensor t = *this;
  t.shape_[d] = length;
  t.data_ = static_cast<char*>(data_) + start * strides_[d] * dtype_size(dtype_);
  return t;
}

Tensor Tensor::select(int d, int64_t index) const {
  d = wrap_dim(d, dim());
  Tensor t = narrow(d, index, 1);
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

Tensor Tensor::permute(const std::vector<int>& order) const {
  MOVA_CHECK(static_cast<int>(order.size()) == dim(), ErrorKind::kShape, "permute needs ", dim(),
             " dims for ", describe());
  std::vector<bool> seen(dim(), false);
  Tensor t = *this;
  for (int i = 0; i < dim(); ++i) {
    const int src = wrap_dim(order[i], dim());
    MOVA_CHECK(!seen[src], ErrorKind::kShape, "permute order repeats dim ", src);
    seen[src] = true;
    t.shape_[i] = shape_[src];
    t.strides_[i] = strides_[src];
  }
  return t;
}

Tensor Tensor::transpose(int a, int b) const {
  std::vector<int> order(dim());
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[wrap_dim(a, dim())], order[wrap_dim(b, dim())]);
  return permute(order);
}

Tensor Tensor::unsqueeze(int d) const {
  d = wrap_dim(d, dim() + 1);
  Tensor t = *this;
  const int64_t st = d < dim() ? strides_[d] * shape_[d] : 1;
  t.shape_.insert(t.shape_.begin() + d, 1);
  t.strides_.insert(t.strides_.begin() + d, st);
  return t;
}

Tensor Tensor::expand(const Shape& shape) const {
  const int rank = static_cast<int>(shape.size()), off = rank - dim();
  MOVA_CHECK(off >= 0, ErrorKind::kShape, "expand of ", describe(), " to fewer dims ",
             shape_str(shape));
  Tensor t = *this;
  t.shape_ = shape;
  t.strides_.assign(rank, 0);
  for (int d = off; d < rank; ++d) {
    const int64_t have = shape_[d - off];
    MOVA_CHECK(have == shape[d] || have == 1, ErrorKind::kShape, "expand of ", describe(), " to ",
               shape_str(shape), ": dim ", d - off, " has size ", have);
    t.strides_[d] = have == shape[d] ? strides_[d - off] : 0;
  }
  return t;
}

Tensor Tensor::squeeze(int d) const {
  d = wrap_dim(d, dim());
  MOVA_CHECK(shape_[d] == 1, ErrorKind::kShape, "squeeze of dim ", d, " of size ", shape_[d],
             " in ", describe());
  Tensor t = *this;
  t.shape_.erase(t.shape_.begin() + d);
  t.strides_.erase(t.strides_.begin() + d);
  return t;
}

namespace {

// Calls fn(src_offset, dst_offset) in elements for every element, walking `shape` in row-major
// order; the innermost dimension is handed over whole as a run of `inner` elements.
template <typename Fn>
void for_each_row(const Shape& shape, const Shape& src_strides, Fn&& fn) {
  const int rank = static_cast<int>(shape.size());
  if (rank == 0) {
    fn(0, 0, 1, 1);
    return;
  }
  const int64_t inner = shape[rank - 1];
  const int64_t inner_stride = src_strides[rank - 1];
  int64_t rows = 1;
  for (int i = 0; i < rank - 1; ++i) rows *= shape[i];
  std::vector<int64_t> idx(rank, 0);
  for (int64_t r = 0; r < rows; ++r) {
    int64_t off = 0;
    for (int i = 0; i < rank - 1; ++i) off += idx[i] * src_strides[i];
    fn(off, r * inner, inner, inner_stride);
    for (int i = rank - 2; i >= 0; --i) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
}

}  // namespace

void Tensor::copy_from(const Tensor& src) {
  MOVA_CHECK(src.shape_ == shape_, ErrorKind::kShape, "copy from ", src.describe(), " into ",
             describe());
  if (!device_.is_cpu() || !src.device_.is_cpu()) {
    const Device d = device_.is_cpu() ? src.device_ : device_;
    backend_for(d, "copy").copy(*this, src);
    return;
  }
  MOVA_CHECK(is_contiguous(), ErrorKind::kShape, "copy into non-contiguous ", describe());
  if (numel() == 0) return;
  const size_t in_size = dtype_size(src.dtype_);
  const size_t out_size = dtype_size(dtype_);
  const char* s = static_cast<const char*>(src.data_);
  char* d = static_cast<char*>(data_);
  if (src.dtype_ == dtype_) {
    for_each_row(shape_, src.strides_, [&](int64_t so, int64_t dof, int64_t n, int64_t st) {
      if (st == 1) {
        std::memcpy(d + dof * out_size, s + so * in_size, n * in_size);
      } else {
        for (int64_t i = 0; i < n; ++i)
          std::memcpy(d + (dof + i) * out_size, s + (so + i * st) * in_size, in_size);
      }
    });
    return;
  }
  MOVA_CHECK(dtype_is_float(dtype_) && dtype_is_float(src.dtype_), ErrorKind::kUnsupported,
             "conversion from ", src.describe(), " to ", dtype_name(dtype_));
  std::vector<float> row;
  for_each_row(shape_, src.strides_, [&](int64_t so, int64_t dof, int64_t n, int64_t st) {
    row.resize(n);
    if (st == 1) {
      convert_to_f32(s + so * in_size, src.dtype_, row.data(), n);
    } else {
      for (int64_t i = 0; i < n; ++i)
        convert_to_f32(s + (so + i * st) * in_size, src.dtype_, &row[i], 1);
    }
    convert_from_f32(row.data(), d + dof * out_size, dtype_, n);
  });
}

Tensor Tensor::contiguous(BufferPool* pool) const {
  if (is_contiguous()) return *this;
  return clone(pool);
}

Tensor Tensor::empty_here(const Shape& shape, DType dtype, BufferPool* pool) const {
  if (pool && pool->device() == device_) return empty(shape, dtype, pool);
  return empty(shape, dtype, device_);
}

Tensor Tensor::clone(BufferPool* pool) const {
  Tensor t = empty_here(shape_, dtype_, pool);
  t.copy_from(*this);
  t.name_ = name_;
  return t;
}

Tensor Tensor::to(DType dtype, BufferPool* pool) const {
  if (dtype == dtype_) return *this;
  Tensor t = empty_here(shape_, dtype, pool);
  t.copy_from(*this);
  t.name_ = name_;
  return t;
}

Tensor Tensor::to(Device device, BufferPool* pool) const {
  if (device == device_) return *this;
  MOVA_CHECK(pool == nullptr || pool->device() == device, ErrorKind::kInternal, "copy of ",
             describe(), " to ", device.str(), " with a pool on ",
             pool ? pool->device().str() : "");
  // Transfers move contiguous bytes; any re-layout happens on the source's side first.
  const Tensor src = contiguous();
  Tensor t = pool ? empty(shape_, dtype_, pool) : empty(shape_, dtype_, device);
  t.copy_from(src);
  t.name_ = name_;
  return t;
}

float Tensor::item_f32(const std::vector<int64_t>& index) const {
  check_host_access(dtype_size(dtype_));
  MOVA_CHECK(static_cast<int>(index.size()) == dim(), ErrorKind::kShape, "index of rank ",
             index.size(), " into ", describe());
  int64_t off = 0;
  for (int i = 0; i < dim(); ++i) {
    MOVA_CHECK(index[i] >= 0 && index[i] < shape_[i], ErrorKind::kShape, "index ", index[i],
               " out of range in dim ", i, " of ", describe());
    off += index[i] * strides_[i];
  }
  float v;
  convert_to_f32(static_cast<const char*>(data_) + off * dtype_size(dtype_), dtype_, &v, 1);
  return v;
}

std::vector<float> Tensor::to_vector() const {
  Tensor f = to(DType::kF32).contiguous();
  const float* p = f.data<float>();
  return std::vector<float>(p, p + f.numel());
}

}  // namespace mova
