#include "runtime/backend.h"

#include <mutex>
#include <utility>
#include <vector>

#include "runtime/error.h"

namespace mova {
namespace {

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::vector<Backend*>& registry() {
  static std::vector<Backend*> backends;
  return backends;
}

}  // namespace

Precision parse_precision(const std::string& text, const std::string& option) {
  if (text == "f32") return Precision::kF32;
  if (text == "bf16") return Precision::kBF16;
  fail(ErrorKind::kInvalidArgument, option, ": unknown precision '", text,
       "' (expected f32 or bf16)");
}

const char* precision_name(Precision precision) {
  return precision == Precision::kBF16 ? "bf16" : "f32";
}

Backend::Backend(Device device) : device_(device) {
  MOVA_CHECK(!device.is_cpu(), ErrorKind::kInternal, "the host has no Backend object");
  std::lock_guard<std::mutex> lock(registry_mutex());
  for (const Backend* b : registry())
    MOVA_CHECK(b->device_ != device, ErrorKind::kInvalidArgument, "a backend for ", device.str(),
               " is already active");
  registry().push_back(this);
}

Backend::~Backend() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::erase(registry(), this);
}

namespace {

// The default upload: already on the device when begun.
class FinishedUpload final : public Backend::PendingUpload {
 public:
  explicit FinishedUpload(Tensor copy) : copy_(std::move(copy)) {}
  Tensor finish() override { return std::move(copy_); }

 private:
  Tensor copy_;
};

}  // namespace

std::unique_ptr<Backend::PendingUpload> Backend::begin_upload(const Tensor& host) {
  return std::make_unique<FinishedUpload>(host.to(device_));
}

void Backend::unsupported(const char* op) const {
  fail(ErrorKind::kUnsupported, op, " is not implemented on ", device_.str(), " yet");
}

Tensor Backend::linear(const Tensor&, const Tensor&, const Tensor*, LinearResult) {
  unsupported("linear");
}
Tensor Backend::matmul(const Tensor&, const Tensor&, bool) {
  unsupported("matmul");
}
Tensor Backend::binary(BinaryOp, const Tensor&, const Tensor&) {
  unsupported("binary");
}
Tensor Backend::affine(const Tensor&, float, float) {
  unsupported("affine");
}
Tensor Backend::gelu(const Tensor&, bool) {
  unsupported("gelu");
}
Tensor Backend::silu(const Tensor&) {
  unsupported("silu");
}
Tensor Backend::layer_norm(const Tensor&, const Tensor*, const Tensor*, float) {
  unsupported("layer_norm");
}
Tensor Backend::layer_norm_modulate(const Tensor&, const Tensor&, const Tensor&, float) {
  unsupported("layer_norm_modulate");
}
Tensor Backend::gated_residual(const Tensor&, const Tensor&, const Tensor&) {
  unsupported("gated_residual");
}
Tensor Backend::rms_norm(const Tensor&, const Tensor*, float) {
  unsupported("rms_norm");
}
Tensor Backend::channel_rms_norm(const Tensor&, const Tensor&, bool) {
  unsupported("channel_rms_norm");
}
Tensor Backend::snake(const Tensor&, const Tensor&) {
  unsupported("snake");
}
Tensor Backend::rope_interleaved(const Tensor&, const RopeAngles&) {
  unsupported("rope_interleaved");
}
Tensor Backend::rope_rotate_half(const Tensor&, const Tensor&, const Tensor&) {
  unsupported("rope_rotate_half");
}
Tensor Backend::attention(const Tensor&, const Tensor&, const Tensor&, const AttentionOptions&) {
  unsupported("attention");
}
Tensor Backend::reduce(ReduceOp, const Tensor&, int, bool) {
  unsupported("reduce");
}
Tensor Backend::softmax(const Tensor&) {
  unsupported("softmax");
}
Tensor Backend::gather_rows(const Tensor&, const Tensor&, bool) {
  unsupported("gather_rows");
}
Tensor Backend::conv1d(const Tensor&, const Tensor&, const Tensor*, const Conv1dParams&) {
  unsupported("conv1d");
}
Tensor Backend::conv_transpose1d(const Tensor&, const Tensor&, const Tensor*, const Conv1dParams&) {
  unsupported("conv_transpose1d");
}
Tensor Backend::conv3d(const Tensor&, const Tensor&, const Tensor*, const Conv3dParams&) {
  unsupported("conv3d");
}

Backend& backend_for(Device device, const char* what) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  for (Backend* b : registry())
    if (b->device() == device) return *b;
  fail(ErrorKind::kUnsupported, what, ": no backend for ", device.str(),
       " is active (was the device opened with --device?)");
}

Device common_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (t == nullptr) continue;
    if (first == nullptr) {
      first = t;
    } else {
      // describe() names a device tensor's device; the host is said explicitly here.
      auto where = [](const Tensor* x) {
        return x->describe() + (x->device().is_cpu() ? " on cpu" : "");
      };
      MOVA_CHECK(t->device() == first->device(), ErrorKind::kInvalidArgument, op,
                 ": inputs on different devices: ", where(first), " and ", where(t));
    }
  }
  return first ? first->device() : Device::cpu();
}

}  // namespace mova
