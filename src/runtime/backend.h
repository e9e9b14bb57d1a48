// The ops of a device other than the host. Each op in runtime/ops/ runs on the CPU when its
// inputs are host tensors and forwards to the backend of their device otherwise, so model code
// calls the same ops wherever its tensors live and src/models/ never names a device API.
//
// A backend registers itself for its device while it exists (at most one per device). Ops an
// implementation does not provide fail with kUnsupported naming the op and the device: an op
// never falls back to the CPU behind the caller's back.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>

#include "runtime/allocator.h"
#include "runtime/device.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/conv.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/gather.h"
#include "runtime/ops/handoff.h"
#include "runtime/ops/reduce.h"
#include "runtime/ops/rope.h"
#include "runtime/tensor.h"

namespace mova {

// How a backend computes: kF32 matches the CPU (~1e-5); kBF16 rounds GEMM and attention
// inputs to BF16 with F32 accumulation (tensor cores), within each backend's stated budget;
// there activations that feed only those are handed on in BF16 (runtime/ops/handoff.h).
enum class Precision { kF32, kBF16 };

// "f32" or "bf16"; anything else is a kInvalidArgument error naming `option`.
Precision parse_precision(const std::string& text, const std::string& option);
const char* precision_name(Precision precision);

class Backend {
 public:
  // Registers for `device`; throws kInvalidArgument when another backend already has it.
  explicit Backend(Device device);
  virtual ~Backend();
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;

  Device device() const { return device_; }
  // Where tensors on this device are allocated.
  virtual BufferPool& buffers() = 0;
  // dst ← src, element by element: equal shapes; float dtypes may differ. Both on this device
  // (any strides), or one of them a contiguous host tensor of the other's dtype (a transfer).
  virtual void copy(const Tensor& dst, const Tensor& src) = 0;
  // Waits until the work queued so far has finished (benchmarks, tests).
  virtual void synchronize() {}

  // A host-to-device copy that runs beside the ops queued after it (weight prefetch).
  class PendingUpload {
   public:
    virtual ~PendingUpload() = default;
    // The device tensor, with every op queued from now on ordered after its bytes arrive.
    // Called at most once. Destroying an upload that was never finished orders later ops after
    // it too, so its memory can be reused safely.
    virtual Tensor finish() = 0;
  };
  // Begins copying a contiguous host tensor to this device; the host bytes are held until the
  // copy is done. A backend without a transfer queue copies at once (the default).
  virtual std::unique_ptr<PendingUpload> begin_upload(const Tensor& host);

  // The ops of runtime/ops/, same contracts. Every tensor argument is on this device and has
  // passed the op's shape and dtype checks there.
  virtual Tensor linear(const Tensor& x, const Tensor& weight, const Tensor* bias,
                        LinearResult result);
  virtual Tensor matmul(const Tensor& a, const Tensor& b, bool trans_b);
  virtual Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
  virtual Tensor affine(const Tensor& x, float scale, float shift);
  virtual Tensor gated_residual(const Tensor& x, const Tensor& gate, const Tensor& y);
  virtual Tensor gelu(const Tensor& x, bool tanh_approximation);
  virtual Tensor silu(const Tensor& x);
  virtual Tensor snake(const Tensor& x, const Tensor& alpha);
  virtual Tensor layer_norm(const Tensor& x, const Tensor* weight, const Tensor* bias, float eps);
  virtual Tensor layer_norm_modulate(const Tensor& x, const Tensor& shift, const Tensor& scale,
                                     float eps);
  virtual Tensor rms_norm(const Tensor& x, const Tensor* weight, float eps);
  virtual Tensor channel_rms_norm(const Tensor& x, const Tensor& gamma, bool then_silu);
  virtual Tensor rope_interleaved(const Tensor& x, const RopeAngles& angles);
  virtual Tensor rope_rotate_half(const Tensor& x, const Tensor& cos, const Tensor& sin);
  virtual Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v,
                           const AttentionOptions& options);
  virtual Tensor reduce(ReduceOp op, const Tensor& x, int dim, bool keepdim);
  virtual Tensor softmax(const Tensor& x);
  virtual Tensor gather_rows(const Tensor& table, const Tensor& indices, bool transposed);
  virtual Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor* bias,
                        const Conv1dParams& p);
  virtual Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor* bias,
                                  const Conv1dParams& p);
  virtual Tensor conv3d(const Tensor& x, const Tensor& weight, const Tensor* bias,
                        const Conv3dParams& p);

 protected:
  [[noreturn]] void unsupported(const char* op) const;

 private:
  Device device_;
};

// The backend registered for `device`; throws kUnsupported naming `what` (the op or tensor
// that needed it) when none is active, e.g. a CUDA tensor after its backend was destroyed.
Backend& backend_for(Device device, const char* what);

// The one device all `tensors` (null entries skipped) live on; throws kInvalidArgument naming
// `op` and the two tensors when they are on different devices.
Device common_device(const char* op, std::initializer_list<const Tensor*> tensors);

}  // namespace mova
