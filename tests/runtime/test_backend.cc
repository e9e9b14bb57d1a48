// Device plumbing without a GPU: a stand-in backend whose "device" memory is host memory on
// Device::cuda(7) runs every op by copying to the host, calling the CPU op and copying back.
// Through it the tests check what any real backend relies on: host access to device tensors
// fails by name, transfers and on-device copies keep values, ops dispatch on their inputs'
// device (mixed devices and missing backends are named errors), and a model whose weights are
// placed on the device gives the CPU's result bit for bit.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "io/weight_set.h"
#include "models/checkpoint.h"
#include "models/tiny_checkpoint.h"
#include "models/wan_dit.h"
#include "pipeline/joint_denoiser.h"
#include "runtime/backend.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/linear.h"
#include "runtime/ops/norm.h"
#include "test_util.h"

namespace mova {
namespace {

const Device kFake = Device::cuda(7);

class HostBackedDevice : public Backend {
 public:
  HostBackedDevice()
      : Backend(kFake),
        pool_(RawAllocator{
            "fake cuda:7", kFake,
            [](size_t bytes) { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); },
            [](void* p) { std::free(p); }}),
        ex_(1) {}

  BufferPool& buffers() override { return pool_; }

  void copy(const Tensor& dst, const Tensor& src) override {
    ++copies;
    if (dst.shape() != src.shape()) fail(ErrorKind::kInternal, "fake device copy: shapes differ");
    const int64_t n = dst.numel();
    const size_t in = dtype_size(src.dtype()), out = dtype_size(dst.dtype());
    for (int64_t i = 0; i < n; ++i) {
      int64_t rest = i, so = 0, dof = 0;
      for (int d = dst.dim() - 1; d >= 0; --d) {
        const int64_t idx = rest % dst.size(d);
        rest /= dst.size(d);
        so += idx * src.stride(d);
        dof += idx * dst.stride(d);
      }
      const char* s = static_cast<const char*>(src.raw_data()) + so * in;
      char* t = static_cast<char*>(dst.raw_data()) + dof * out;
      if (src.dtype() == dst.dtype()) {
        std::memcpy(t, s, in);
      } else {
        float v;
        convert_to_f32(s, src.dtype(), &v, 1);
        convert_from_f32(&v, t, dst.dtype(), 1);
      }
    }
  }

  Tensor linear(const Tensor& x, const Tensor& w, const Tensor* b) override {
    const Tensor hb = b ? host(*b) : Tensor();
    return back(mova::linear(ex_, host(x), host(w), b ? &hb : nullptr));
  }
  Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) override {
    return back(mova::binary(ex_, op, host(a), host(b)));
  }
  Tensor affine(const Tensor& x, float scale, float shift) override {
    return back(mova::affine(ex_, host(x), scale, shift));
  }
  Tensor gelu(const Tensor& x, bool tanh) override { return back(mova::gelu(ex_, host(x), tanh)); }
  Tensor silu(const Tensor& x) override { return back(mova::silu(ex_, host(x))); }
  Tensor layer_norm(const Tensor& x, const Tensor* w, const Tensor* b, float eps) override {
    const Tensor hw = w ? host(*w) : Tensor(), hb = b ? host(*b) : Tensor();
    return back(mova::layer_norm(ex_, host(x), w ? &hw : nullptr, b ? &hb : nullptr, eps));
  }
  Tensor rms_norm(const Tensor& x, const Tensor* w, float eps) override {
    const Tensor hw = w ? host(*w) : Tensor();
    return back(mova::rms_norm(ex_, host(x), w ? &hw : nullptr, eps));
  }
  Tensor rope_interleaved(const Tensor& x, const RopeAngles& angles) override {
    RopeAngles on_host = angles;
    on_host.angle = host(angles.angle);
    return back(mova::rope_interleaved(ex_, host(x), on_host));
  }
  Tensor rope_rotate_half(const Tensor& x, const Tensor& cos, const Tensor& sin) override {
    return back(mova::rope_rotate_half(ex_, host(x), host(cos), host(sin)));
  }
  Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v,
                   const AttentionOptions& options) override {
    EXPECT_EQ(options.bias, nullptr);
    EXPECT_EQ(options.key_mask, nullptr);
    return back(mova::attention(ex_, host(q), host(k), host(v), options));
  }

  int ops = 0;
  int copies = 0;

 private:
  Tensor host(const Tensor& t) {
    EXPECT_EQ(t.device(), kFake) << t.describe();
    return t.to(Device::cpu());
  }
  Tensor back(const Tensor& t) {
    ++ops;
    return t.to(kFake);
  }

  BufferPool pool_;
  Exec ex_;
};

TEST(Device, ParsesTheOptionSpellings) {
  EXPECT_EQ(parse_device("cpu", "--device"), Device::cpu());
  EXPECT_EQ(parse_device("cuda", "--device"), Device::cuda(0));
  EXPECT_EQ(parse_device("cuda:3", "--device"), Device::cuda(3));
  EXPECT_EQ(Device::cuda(2).str(), "cuda:2");
  for (const char* bad : {"gpu", "cuda:", "cuda:-1", "cuda:1x", "CPU", ""})
    test::expect_error([&] { parse_device(bad, "--device"); },
                       {"--device: unknown device '", "expected cpu, cuda or cuda:N"});
}

TEST(Backend, TransfersAndDeviceCopiesKeepValues) {
  HostBackedDevice dev;
  const Tensor h = Tensor::from_vector({2, 3, 4}, test::random_vector(24, 5));
  const Tensor d = h.to(kFake);
  EXPECT_EQ(d.device(), kFake);
  EXPECT_EQ(h.to(Device::cpu()).raw_data(), h.raw_data());  // already there: no copy
  EXPECT_EQ(d.to(Device::cpu()).to_vector(), h.to_vector());
  // A permuted view made contiguous on the device, and a dtype change there.
  const Tensor p = d.permute({2, 0, 1}).contiguous();
  EXPECT_EQ(p.device(), kFake);
  EXPECT_EQ(p.to(Device::cpu()).to_vector(), h.permute({2, 0, 1}).contiguous().to_vector());
  const Tensor b = d.to(DType::kBF16);
  EXPECT_EQ(b.device(), kFake);
  EXPECT_EQ(b.to(Device::cpu()).to_vector(), h.to(DType::kBF16).to_vector());
  // A host pool passed to a device tensor's copy is not used for it.
  BufferPool host_pool;
  EXPECT_EQ(d.permute({1, 0, 2}).contiguous(&host_pool).device(), kFake);
  EXPECT_EQ(host_pool.stats().allocations, 0u);
}

TEST(Backend, HostAccessToDeviceTensorsIsANamedError) {
  HostBackedDevice dev;
  Tensor d = Tensor::from_vector({2, 2}, {1, 2, 3, 4}).to(kFake);
  d.set_name("blocks.0.x");
  test::expect_error([&] { d.data<float>(); },
                     {"host access to tensor 'blocks.0.x' [2, 2] F32 on cuda:7", "on cuda:7"});
  test::expect_error([&] { d.to_vector(); }, {"host access", "blocks.0.x"});
  test::expect_error([&] { d.item_f32({0, 0}); }, {"host access", "blocks.0.x"});
}

TEST(Backend, OpsDispatchOnTheirInputsDevice) {
  Exec ex(1);
  const Tensor x = Tensor::from_vector({3, 4}, test::random_vector(12, 1));
  const Tensor w = Tensor::from_vector({5, 4}, test::random_vector(20, 2));
  Tensor on_device;
  {
    HostBackedDevice dev;
    const Tensor y = linear(ex, x.to(kFake), w.to(kFake));
    EXPECT_EQ(y.device(), kFake);
    EXPECT_EQ(dev.ops, 1);
    EXPECT_EQ(y.to(Device::cpu()).to_vector(), linear(ex, x, w).to_vector());
    test::expect_error([&] { linear(ex, x, w.to(kFake)); },
                       {"linear: inputs on different devices: tensor [3, 4] F32 on cpu and tensor "
                        "[5, 4] F32 on cuda:7"});
    // An op the backend does not implement says so instead of running on the CPU.
    test::expect_error([&] { softmax(ex, x.to(kFake)); },
                       {"softmax is not implemented on cuda:7 yet"});
    on_device = x.to(kFake);
  }
  // Its backend is gone: the tensor's memory outlives it, but no op can run on it.
  test::expect_error([&] { silu(ex, on_device); }, {"silu: no backend for cuda:7 is active"});
}

TEST(Backend, OneBackendPerDevice) {
  HostBackedDevice dev;
  test::expect_error([] { HostBackedDevice second; }, {"a backend for cuda:7 is already active"});
}

// The video expert with its weights placed on the device: every op goes through the backend,
// and the result is the CPU's bit for bit (the backend runs the same CPU kernels).
TEST(Backend, WanDitRunsWhereItsWeightsArePlaced) {
  test::TempDir dir;
  write_tiny_checkpoint(dir.file("m"), {});
  const Checkpoint ckpt = Checkpoint::open(dir.file("m"));
  Exec ex(1);
  const Tensor x = Tensor::from_vector({1, 36, 2, 4, 4}, test::random_vector(36 * 32, 3, -2, 2));
  const Tensor ctx = Tensor::from_vector({1, 6, 48}, test::random_vector(6 * 48, 4));
  const WanDit cpu(ckpt.video_dit_config(Component::kVideoDit), ckpt.weights(Component::kVideoDit));
  const Tensor expected = cpu.forward(ex, x, 500.0f, ctx);

  HostBackedDevice dev;
  WeightSet placed = ckpt.weights(Component::kVideoDit);
  placed.place_on(kFake);
  const WanDit gpu(ckpt.video_dit_config(Component::kVideoDit), placed);
  const Tensor got = gpu.forward(ex, x, 500.0f, ctx);
  EXPECT_EQ(got.device(), kFake);
  EXPECT_GT(dev.ops, 50);
  EXPECT_EQ(got.shape(), expected.shape());
  EXPECT_EQ(got.to(Device::cpu()).to_vector(), expected.to_vector());
}

// A whole joint pass (both experts' video tower, the audio DiT, the bridge with its aligned
// RoPE tables) placed on the device: host velocities equal to the CPU's, bit for bit.
TEST(Backend, JointDenoiserStepRunsOnTheDevice) {
  test::TempDir dir;
  write_tiny_checkpoint(dir.file("m"), {});
  const Checkpoint ckpt = Checkpoint::open(dir.file("m"));
  Exec ex(1);
  const Tensor video = Tensor::from_vector({1, 16, 2, 4, 4}, test::random_vector(512, 5, -2, 2));
  const Tensor cond = Tensor::from_vector({1, 20, 2, 4, 4}, test::random_vector(640, 6));
  const Tensor audio = Tensor::from_vector({1, 8, 9}, test::random_vector(72, 7, -2, 2));
  const Tensor ctx = Tensor::from_vector({1, 5, 48}, test::random_vector(240, 8));
  HostBackedDevice dev;
  for (int expert : {1, 2}) {
    const Velocities cpu =
        JointDenoiser(ckpt).step(ex, expert, video, cond, audio, ctx, 700.0f, 650.0f, 24.0);
    const Velocities got =
        JointDenoiser(ckpt, kFake).step(ex, expert, video, cond, audio, ctx, 700.0f, 650.0f, 24.0);
    EXPECT_EQ(got.video.device(), Device::cpu());
    EXPECT_EQ(got.audio.device(), Device::cpu());
    EXPECT_EQ(got.video.to_vector(), cpu.video.to_vector()) << "expert " << expert;
    EXPECT_EQ(got.audio.to_vector(), cpu.audio.to_vector()) << "expert " << expert;
  }
  EXPECT_GT(dev.ops, 100);
}

}  // namespace
}  // namespace mova
