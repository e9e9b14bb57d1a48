// Device plumbing without a GPU: a stand-in backend whose "device" memory is host memory on
// Device::cuda(7) runs every op by copying to the host, calling the CPU op and copying back.
// Through it the tests check what any real backend relies on: host access to device tensors
// fails by name, transfers and on-device copies keep values, ops dispatch on their inputs'
// device (mixed devices and missing backends are named errors), and a model whose weights are
// placed on the device gives the CPU's result bit for bit.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <future>
#include <thread>

#include "capped_memory.h"
#include "io/device_weight_cache.h"
#include "io/weight_set.h"
#include "models/bridge.h"
#include "models/checkpoint.h"
#include "models/dac.h"
#include "models/tiny_checkpoint.h"
#include "models/umt5_encoder.h"
#include "models/wan_dit.h"
#include "models/wan_vae.h"
#include "pipeline/joint_denoiser.h"
#include "runtime/backend.h"
#include "runtime/ops/concat.h"
#include "runtime/ops/conv.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/linear.h"
#include "runtime/ops/norm.h"
#include "runtime/ops/reduce.h"
#include "test_util.h"

namespace mova {
namespace {

const Device kFake = Device::cuda(7);

class HostBackedDevice : public Backend {
 public:
  // Its "device memory" is `capacity` bytes of host memory (tests/capped_memory.h).
  explicit HostBackedDevice(size_t capacity = SIZE_MAX)
      : Backend(kFake), memory_(capacity), pool_(memory_.allocator("fake cuda:7", kFake)), ex_(1) {}

  const test::CappedMemory& memory() const { return memory_; }

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

  Tensor linear(const Tensor& x, const Tensor& w, const Tensor* b, LinearResult) override {
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
  Tensor layer_norm_modulate(const Tensor& x, const Tensor& shift, const Tensor& scale,
                             float eps) override {
    return back(mova::layer_norm_modulate(ex_, host(x), host(shift), host(scale), eps));
  }
  Tensor gated_residual(const Tensor& x, const Tensor& gate, const Tensor& y) override {
    return back(mova::gated_residual(ex_, host(x), host(gate), host(y)));
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
    AttentionOptions on_host = options;
    const Tensor bias = options.bias ? host(*options.bias) : Tensor();
    const Tensor mask = options.key_mask ? host(*options.key_mask) : Tensor();
    if (options.bias) on_host.bias = &bias;
    if (options.key_mask) on_host.key_mask = &mask;
    return back(mova::attention(ex_, host(q), host(k), host(v), on_host));
  }
  Tensor channel_rms_norm(const Tensor& x, const Tensor& gamma, bool then_silu) override {
    return back(mova::channel_rms_norm(ex_, host(x), host(gamma), then_silu));
  }
  Tensor snake(const Tensor& x, const Tensor& alpha) override {
    return back(mova::snake(ex_, host(x), host(alpha)));
  }
  Tensor gather_rows(const Tensor& table, const Tensor& indices, bool transposed) override {
    return back(transposed ? mova::gather_rows_transposed(ex_, host(table), host(indices))
                           : mova::gather_rows(ex_, host(table), host(indices)));
  }
  Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor* b, const Conv1dParams& p) override {
    const Tensor hb = b ? host(*b) : Tensor();
    return back(mova::conv1d(ex_, host(x), host(w), b ? &hb : nullptr, p));
  }
  Tensor conv_transpose1d(const Tensor& x, const Tensor& w, const Tensor* b,
                          const Conv1dParams& p) override {
    const Tensor hb = b ? host(*b) : Tensor();
    return back(mova::conv_transpose1d(ex_, host(x), host(w), b ? &hb : nullptr, p));
  }
  Tensor conv3d(const Tensor& x, const Tensor& w, const Tensor* b, const Conv3dParams& p) override {
    const Tensor hb = b ? host(*b) : Tensor();
    return back(mova::conv3d(ex_, host(x), host(w), b ? &hb : nullptr, p));
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

  test::CappedMemory memory_;
  BufferPool pool_;
  Exec ex_;
};

// The tiny checkpoint the model tests here run, written for each test.
struct TinyModel {
  test::TempDir dir;
  Checkpoint ckpt = (write_tiny_checkpoint(dir.file("m"), {}), Checkpoint::open(dir.file("m")));
};

// One joint step's inputs for the tiny checkpoint.
struct JointInputs {
  Tensor video = Tensor::from_vector({1, 16, 2, 4, 4}, test::random_vector(512, 5, -2, 2));
  Tensor cond = Tensor::from_vector({1, 20, 2, 4, 4}, test::random_vector(640, 6));
  Tensor audio = Tensor::from_vector({1, 8, 9}, test::random_vector(72, 7, -2, 2));
  Tensor ctx = Tensor::from_vector({1, 5, 48}, test::random_vector(240, 8));
  // One pass of `denoiser` on these inputs (t 700 video, 650 audio, 24 fps).
  Velocities step(Exec& ex, const JointDenoiser& denoiser, int expert = 1) const {
    return denoiser.step(ex, expert, video, cond, audio, ctx, 700.0f, 650.0f, 24.0);
  }
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

TEST(Precision, ParsesTheOptionSpellings) {
  EXPECT_EQ(parse_precision("f32", "--precision"), Precision::kF32);
  EXPECT_EQ(parse_precision("bf16", "--precision"), Precision::kBF16);
  EXPECT_STREQ(precision_name(Precision::kBF16), "bf16");
  EXPECT_STREQ(precision_name(Precision::kF32), "f32");
  for (const char* bad : {"fp32", "BF16", "f16", "fp8", ""})
    test::expect_error([&] { parse_precision(bad, "--precision"); },
                       {"--precision: unknown precision '", "expected f32 or bf16"});
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
  const TinyModel tiny;
  const Checkpoint& ckpt = tiny.ckpt;
  Exec ex(1);
  const Tensor x = Tensor::from_vector({1, 36, 2, 4, 4}, test::random_vector(36 * 32, 3, -2, 2));
  const Tensor ctx = Tensor::from_vector({1, 6, 48}, test::random_vector(6 * 48, 4));
  const WanDit cpu(ckpt.video_dit_config(Component::kVideoDit), ckpt.weights(Component::kVideoDit));
  const Tensor expected = cpu.forward(ex, x, 500.0f, ctx);

  HostBackedDevice dev;
  const WanDit gpu(ckpt.video_dit_config(Component::kVideoDit),
                   ckpt.weights(Component::kVideoDit, kFake));
  const Tensor got = gpu.forward(ex, x, 500.0f, ctx);
  EXPECT_EQ(got.device(), kFake);
  EXPECT_GT(dev.ops, 50);
  EXPECT_EQ(got.shape(), expected.shape());
  EXPECT_EQ(got.to(Device::cpu()).to_vector(), expected.to_vector());
}

// A block over chunks of tokens (WanDit::set_chunk_tokens: self-attention queries against all
// keys, cross-attention and FFN, the residual stream updated in place): each chunk's rows are
// computed as in one pass, so the tokens come out bit for bit the same, on the CPU and on a
// device, for chunks of one token, of sizes that do not divide the 8 tokens, and of all of them.
TEST(Backend, WanDitInChunksGivesTheSameTokens) {
  const TinyModel tiny;
  const Checkpoint& ckpt = tiny.ckpt;
  Exec ex(1);
  const Tensor x = Tensor::from_vector({1, 36, 2, 4, 4}, test::random_vector(36 * 32, 13, -2, 2));
  const Tensor ctx = Tensor::from_vector({1, 6, 48}, test::random_vector(6 * 48, 14));
  WanDit whole(ckpt.video_dit_config(Component::kVideoDit), ckpt.weights(Component::kVideoDit));
  EXPECT_GE(whole.chunk_tokens(), 8);
  const std::vector<float> expected = whole.forward(ex, x, 500.0f, ctx).to_vector();
  HostBackedDevice dev;
  WanDit on_device(ckpt.video_dit_config(Component::kVideoDit),
                   ckpt.weights(Component::kVideoDit, kFake));
  int ops_whole = 0;
  for (const int64_t tokens : {int64_t{8}, int64_t{1}, int64_t{3}, int64_t{5}}) {
    WanDit cpu(ckpt.video_dit_config(Component::kVideoDit), ckpt.weights(Component::kVideoDit));
    cpu.set_chunk_tokens(tokens);
    on_device.set_chunk_tokens(tokens);
    EXPECT_EQ(cpu.forward(ex, x, 500.0f, ctx).to_vector(), expected) << tokens << " per chunk";
    const int ops_before = dev.ops;
    EXPECT_EQ(on_device.forward(ex, x, 500.0f, ctx).to(Device::cpu()).to_vector(), expected)
        << tokens << " per chunk on the device";
    // More chunks, more ops: the chunked path ran.
    if (tokens == 8)
      ops_whole = dev.ops - ops_before;
    else
      EXPECT_GT(dev.ops - ops_before, ops_whole) << tokens << " per chunk";
  }
  test::expect_error([&] { whole.set_chunk_tokens(0); }, {"DiT chunk", "0 tokens"});
}

// What chunking is for, counted in bytes on the host-backed device (deterministic), on the nano
// preset (ffn_dim three times the width, as in the published DiTs), 256 tokens, beyond a block's
// input and weights (uploaded by a pass before):
// - whole, the FFN's hidden activation (768 KiB before GELU and 768 KiB after) sets the peak;
// - in chunks of 16 tokens, the residual stream is updated in place and what is held beside it
//   at the peak is the self-attention's keys and values and one chunk's temporaries: less than
//   three times the stream's size.
TEST(Backend, WanDitInChunksLowersTheDevicePeak) {
  test::TempDir dir;
  TinyCheckpointOptions nano;
  nano.preset = "nano";
  write_tiny_checkpoint(dir.file("m"), nano);
  const Checkpoint ckpt = Checkpoint::open(dir.file("m"));
  const WanDitConfig config = ckpt.video_dit_config(Component::kVideoDit);
  ASSERT_EQ(config.dim, 256);
  ASSERT_EQ(config.ffn_dim, 768);
  Exec ex(1);
  const int64_t C = config.in_dim;
  const Tensor x =
      Tensor::from_vector({1, C, 4, 16, 16}, test::random_vector(C * 4 * 256, 15, -2, 2));
  const Tensor ctx =
      Tensor::from_vector({1, 6, config.text_dim}, test::random_vector(6 * config.text_dim, 16));
  const auto peak = [&](int64_t tokens) {
    HostBackedDevice dev;
    WanDit dit(config, ckpt.weights(Component::kVideoDit, kFake));
    dit.set_chunk_tokens(tokens);
    WanDit::State s = dit.begin(ex, x, 500.0f, ctx);
    dit.block(ex, 0, s);
    {
      WanDit::State warm = dit.begin(ex, x, 500.0f, ctx);  // uploads block 1's weights
      dit.block(ex, 1, warm);
    }
    dev.buffers().mark_peak();
    const size_t before = dev.buffers().stats().in_use;
    dit.block(ex, 1, s);
    return dev.buffers().stats().peak_since_mark - before;
  };
  const size_t whole = peak(256), chunked = peak(16);
  const size_t hidden = size_t{256} * 768 * sizeof(float);
  const size_t stream = size_t{256} * 256 * sizeof(float);
  EXPECT_LE(chunked + hidden, whole);
  EXPECT_LT(chunked, 3 * stream);
  std::printf(
      "[ measure  ] device peak of a block beyond its input and weights: %zu KiB whole, "
      "%zu KiB in 16-token chunks (stream %zu KiB)\n",
      whole >> 10, chunked >> 10, stream >> 10);
}

// The bridge over chunks of tokens (DualTowerBridge::set_chunk_tokens: the condition's keys and
// values, then the conditioned tokens, the video updated in place): bit for bit one pass's
// result on the CPU and on a device, for chunks of one token, of sizes dividing neither tower's
// tokens (8 video, 9 audio), and of all of them. A copy of the video state taken before keeps its
// values; a state nothing else holds keeps its storage.
TEST(Backend, BridgeInChunksGivesTheSameStates) {
  const TinyModel tiny;
  const Checkpoint& ckpt = tiny.ckpt;
  Exec ex(1);
  const BridgeConfig config = ckpt.bridge_config();
  ASSERT_FALSE(config.interaction_layers().empty());
  const int64_t layer = config.interaction_layers().front();
  const Tensor visual = Tensor::from_vector({1, 8, config.visual_hidden_dim},
                                            test::random_vector(8 * config.visual_hidden_dim, 17));
  const Tensor audio = Tensor::from_vector({1, 9, config.audio_hidden_dim},
                                           test::random_vector(9 * config.audio_hidden_dim, 18));
  HostBackedDevice dev;
  int ops_whole = 0;
  const auto run = [&](int64_t tokens, Device device) {
    DualTowerBridge bridge(config, ckpt.weights(Component::kBridge, device));
    bridge.set_chunk_tokens(tokens);
    const DualTowerBridge::Rope rope = bridge.aligned_rope(2, 4, 9, 24.0);
    Tensor v = visual.to(device).clone(), a = audio.to(device);
    const void* storage = v.raw_data();
    const Tensor copy = visual.to(device).clone();
    Tensor shared = copy;
    const std::vector<float> copy_values = copy.to(Device::cpu()).to_vector();
    const int ops_before = dev.ops;
    bridge.apply(ex, layer, v, a, rope);
    if (!device.is_cpu() && tokens >= 8) ops_whole = dev.ops - ops_before;
    // More chunks, more ops: the chunked path ran.
    if (!device.is_cpu() && tokens < 8) {
      EXPECT_GT(dev.ops - ops_before, ops_whole) << tokens;
    }
    if (tokens < 8) {
      EXPECT_EQ(v.raw_data(), storage) << tokens << " per chunk: updated in place";
    }
    EXPECT_EQ(v.device(), device);
    Tensor a2 = audio.to(device);
    bridge.apply(ex, layer, shared, a2, rope);
    EXPECT_EQ(copy.to(Device::cpu()).to_vector(), copy_values) << tokens << " per chunk";
    EXPECT_EQ(shared.to(Device::cpu()).to_vector(), v.to(Device::cpu()).to_vector()) << tokens;
    return std::make_pair(v.to(Device::cpu()).to_vector(), a.to(Device::cpu()).to_vector());
  };
  const DualTowerBridge bridge(config, ckpt.weights(Component::kBridge));
  EXPECT_GE(bridge.chunk_tokens(), 9);
  const auto expected = run(9, Device::cpu());
  for (const int64_t tokens : {int64_t{9}, int64_t{1}, int64_t{3}, int64_t{5}, int64_t{8}}) {
    EXPECT_EQ(run(tokens, Device::cpu()), expected) << tokens << " per chunk";
    EXPECT_EQ(run(tokens, kFake), expected) << tokens << " per chunk on the device";
  }
  DualTowerBridge chunked(config, ckpt.weights(Component::kBridge));
  test::expect_error([&] { chunked.set_chunk_tokens(-1); }, {"bridge chunk", "-1 tokens"});
  const DualTowerBridge::Rope short_rope = chunked.aligned_rope(1, 4, 9, 24.0);
  Tensor v = visual.clone(), a = audio.clone();
  test::expect_error([&] { chunked.apply(ex, layer, v, a, short_rope); },
                     {"bridge: RoPE tables", "do not fit 8 video and 9 audio tokens"});
}

// The whole joint pass in chunks of 3 tokens (JointDenoiser::set_chunk_tokens: both experts'
// blocks, the audio DiT's with its 1-D RoPE, the bridge): the CPU's velocities of whole passes,
// bit for bit, on the CPU and on the device.
TEST(Backend, JointDenoiserInChunksGivesTheSameVelocities) {
  const TinyModel tiny;
  const Checkpoint& ckpt = tiny.ckpt;
  Exec ex(1);
  const JointInputs in;
  HostBackedDevice dev;
  JointDenoiser cpu(ckpt), on_device(ckpt, kFake);
  for (int expert : {1, 2}) {
    const Velocities whole = in.step(ex, cpu, expert);
    cpu.set_chunk_tokens(3);
    on_device.set_chunk_tokens(3);
    for (const JointDenoiser* d : {&cpu, &on_device}) {
      const Velocities got = in.step(ex, *d, expert);
      EXPECT_EQ(got.video.to_vector(), whole.video.to_vector()) << "expert " << expert;
      EXPECT_EQ(got.audio.to_vector(), whole.audio.to_vector()) << "expert " << expert;
    }
    cpu.set_chunk_tokens(1 << 20);
  }
}

// A whole joint pass (both experts' video tower, the audio DiT, the bridge with its aligned
// RoPE tables) placed on the device: host velocities equal to the CPU's, bit for bit.
TEST(Backend, JointDenoiserStepRunsOnTheDevice) {
  const TinyModel tiny;
  const Checkpoint& ckpt = tiny.ckpt;
  Exec ex(1);
  const JointInputs in;
  HostBackedDevice dev;
  for (int expert : {1, 2}) {
    const Velocities cpu = in.step(ex, JointDenoiser(ckpt), expert);
    const Velocities got = in.step(ex, JointDenoiser(ckpt, kFake), expert);
    EXPECT_EQ(got.video.device(), Device::cpu());
    EXPECT_EQ(got.audio.device(), Device::cpu());
    EXPECT_EQ(got.video.to_vector(), cpu.video.to_vector()) << "expert " << expert;
    EXPECT_EQ(got.audio.to_vector(), cpu.audio.to_vector()) << "expert " << expert;
  }
  EXPECT_GT(dev.ops, 100);
}

// Concatenation on a device is the device's strided copy into each part's slice.
TEST(Backend, ConcatOnTheDeviceCopiesEachPartIntoItsSlice) {
  Exec ex(1);
  const Tensor a = Tensor::from_vector({2, 3, 2}, test::random_vector(12, 9));
  const Tensor b = Tensor::from_vector({2, 1, 2}, test::random_vector(4, 10));
  HostBackedDevice dev;
  const Tensor got = concat({a.to(kFake), b.to(kFake).to(DType::kBF16)}, 1);
  EXPECT_EQ(got.device(), kFake);
  EXPECT_EQ(got.dtype(), DType::kF32);
  EXPECT_EQ(got.to(Device::cpu()).to_vector(), concat({a, b.to(DType::kBF16)}, 1).to_vector());
  test::expect_error(
      [&] {
        concat({a.to(kFake), b.to(kFake)}, 2);
      },
      {"cannot concatenate", "along dim 2"});
}

// The text encoder, both VAE passes, the first-frame condition and the audio VAE, each with
// its weights placed on the device: host results equal to the CPU's, bit for bit.
TEST(Backend, TextEncoderRunsWhereItsWeightsArePlaced) {
  const TinyModel tiny;
  const Checkpoint& ckpt = tiny.ckpt;
  Exec ex(1);
  const std::vector<int64_t> ids = {5, 17, 3, 1, 0, 0}, mask = {1, 1, 1, 1, 0, 0};
  const Tensor expected =
      Umt5Encoder(ckpt.text_encoder_config(), ckpt.weights(Component::kTextEncoder))
          .encode(ex, ids, mask);
  HostBackedDevice dev;
  const Tensor got =
      Umt5Encoder(ckpt.text_encoder_config(), ckpt.weights(Component::kTextEncoder, kFake))
          .encode(ex, ids, mask);
  EXPECT_EQ(got.device(), Device::cpu());
  EXPECT_GT(dev.ops, 10);
  EXPECT_EQ(got.to_vector(), expected.to_vector());
  // Tables the encoder builds on the host come from the file, never through the device.
  const WeightSet placed = ckpt.weights(Component::kTextEncoder, kFake);
  const std::string table = "encoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight";
  EXPECT_EQ(placed.get_host(table).device(), Device::cpu());
  EXPECT_EQ(placed.get(table).device(), kFake);
}

TEST(Backend, VideoVaeRunsWhereItsWeightsArePlaced) {
  const TinyModel tiny;
  const Checkpoint& ckpt = tiny.ckpt;
  Exec ex(1);
  const WanVae cpu(ckpt.video_vae_config(), ckpt.weights(Component::kVideoVae));
  const Tensor video = Tensor::from_vector({1, 3, 5, 16, 16}, test::random_vector(3840, 11));
  const Tensor image = video.narrow(2, 0, 1).squeeze(2).contiguous();
  const Tensor z = cpu.encode(ex, video);
  const Tensor frames = cpu.decode(ex, z);
  const Tensor cond = cpu.image_condition(ex, image, 5);

  HostBackedDevice dev;
  const WanVae gpu(ckpt.video_vae_config(), ckpt.weights(Component::kVideoVae, kFake));
  EXPECT_EQ(gpu.device(), kFake);
  const Tensor got_z = gpu.encode(ex, video);
  EXPECT_EQ(got_z.device(), Device::cpu());
  EXPECT_EQ(got_z.to_vector(), z.to_vector());
  const int encode_ops = dev.ops;
  EXPECT_GT(encode_ops, 20);
  EXPECT_EQ(gpu.decode(ex, z).to_vector(), frames.to_vector());
  EXPECT_GT(dev.ops, 2 * encode_ops);
  EXPECT_EQ(gpu.image_condition(ex, image, 5).to_vector(), cond.to_vector());
}

TEST(Backend, AudioVaeRunsWhereItsWeightsArePlaced) {
  const TinyModel tiny;
  const Checkpoint& ckpt = tiny.ckpt;
  Exec ex(1);
  const DacVae cpu(ckpt.audio_vae_config(), ckpt.weights(Component::kAudioVae));
  const int64_t hop = ckpt.audio_vae_config().hop_length();
  const Tensor audio =
      Tensor::from_vector({1, 1, 3 * hop - 5}, test::random_vector(3 * hop - 5, 12));
  const Tensor z = cpu.encode(ex, audio);
  const Tensor wave = cpu.decode(ex, z);

  HostBackedDevice dev;
  const DacVae gpu(ckpt.audio_vae_config(), ckpt.weights(Component::kAudioVae, kFake));
  EXPECT_EQ(gpu.device(), kFake);
  const Tensor got_z = gpu.encode(ex, audio);
  EXPECT_EQ(got_z.device(), Device::cpu());
  EXPECT_EQ(got_z.to_vector(), z.to_vector());
  const Tensor got_wave = gpu.decode(ex, z);
  EXPECT_EQ(got_wave.device(), Device::cpu());
  EXPECT_EQ(got_wave.to_vector(), wave.to_vector());
  EXPECT_GT(dev.ops, 20);
}

// Without passes marked, the budgeted cache drops the least recently used copies and uploads
// them again on demand; a dropped copy someone still holds stays valid.
TEST(DeviceWeightCache, KeepsTheMostRecentlyUsedWithinItsBudget) {
  HostBackedDevice dev;
  const Tensor a = Tensor::from_vector({4}, {1, 2, 3, 4}),
               b = Tensor::from_vector({4}, {5, 6, 7, 8});
  const Tensor c = Tensor::from_vector({4}, {9, 10, 11, 12});
  DeviceWeightCache cache(kFake, 2 * a.nbytes());
  int loads = 0;
  auto get = [&](const char* key, const Tensor& t) {
    return cache.get(key, [&] {
      ++loads;
      return t;
    });
  };
  const Tensor held = get("a", a);
  get("b", b);
  get("a", a);  // a is now the most recent
  get("c", c);  // b goes
  EXPECT_EQ(loads, 3);
  get("a", a);
  get("c", c);
  EXPECT_EQ(loads, 3);
  get("b", b);  // uploaded again; a (least recent) goes
  EXPECT_EQ(loads, 4);
  get("c", c);
  EXPECT_EQ(loads, 4);
  get("a", a);
  EXPECT_EQ(loads, 5);
  const DeviceWeightCache::Stats st = cache.stats();
  EXPECT_EQ(st.uploads, 5u);
  EXPECT_EQ(st.uploaded_bytes, 5 * a.nbytes());
  EXPECT_EQ(st.resident_bytes, 2 * a.nbytes());
  EXPECT_EQ(st.peak_resident_bytes, 2 * a.nbytes());
  EXPECT_EQ(held.to(Device::cpu()).to_vector(), a.to_vector());  // evicted, still alive
}

// Passes over more weights than the budget: part stays resident (plain LRU would keep none),
// and weights a pass no longer uses (the other expert) go first. The first pass records the
// order; a pass in step with it drops the copy used farthest ahead (Belady), which uploads the
// fewest: 6 weights, room for 3, so 3 per pass (the rule for unordered passes uploads 4).
TEST(DeviceWeightCache, KeepsPartOfACyclicPassAndDropsWhatAPassNoLongerUses) {
  HostBackedDevice dev;
  std::vector<Tensor> w;
  w.reserve(8);
  for (int i = 0; i < 8; ++i) w.push_back(Tensor::from_vector({4}, {float(i), 1, 2, 3}));
  DeviceWeightCache cache(kFake, 3 * w[0].nbytes());
  int loads = 0;
  auto pass = [&](int from, int to) {
    cache.begin_pass();
    const int before = loads;
    for (int i = from; i < to; ++i) {
      const Tensor got = cache.get("w" + std::to_string(i), [&] {
        ++loads;
        return w[i];
      });
      EXPECT_EQ(got.to(Device::cpu()).to_vector(), w[i].to_vector());
    }
    return loads - before;
  };
  EXPECT_EQ(pass(0, 6), 6);
  EXPECT_EQ(pass(0, 6), 3);
  EXPECT_EQ(pass(0, 6), 3);
  // Another set of weights (the low-noise expert): the first set's leftovers go first, so it
  // keeps two of its own as well.
  EXPECT_EQ(pass(6, 8), 2);
  EXPECT_EQ(pass(6, 8), 0);
  EXPECT_LE(cache.stats().resident_bytes, 3 * w[0].nbytes());
}

// Prefetch on passes that repeat one order: after the pass that records the order, every weight
// that does not stay resident is uploaded ahead of its use (none at the use itself), the
// budget holds, and each get returns its own weight. A pass in another order (the other
// expert) prefetches nothing and drops what was fetched for the old one.
TEST(DeviceWeightCache, PrefetchesWhatARepeatedPassNeedsNext) {
  HostBackedDevice dev;
  std::vector<Tensor> w;
  w.reserve(10);
  for (int i = 0; i < 10; ++i) w.push_back(Tensor::from_vector({4}, {float(i), 1, 2, 3}));
  const uint64_t unit = w[0].nbytes(), budget = 4 * unit;
  DeviceWeightCache cache(kFake, budget);
  cache.set_prefetch(unit);  // one weight ahead (a quarter of the budget)
  struct Counts {
    uint64_t uploads, at_use, ahead;
  };
  auto pass = [&](int from, int to) {
    const DeviceWeightCache::Stats before = cache.stats();
    cache.begin_pass();
    for (int i = from; i < to; ++i) {
      const Tensor got = cache.get("w" + std::to_string(i), [t = w[i]] { return t; });
      EXPECT_EQ(got.to(Device::cpu()).to_vector(), w[i].to_vector()) << "w" << i;
      EXPECT_LE(cache.stats().resident_bytes, budget);
    }
    const DeviceWeightCache::Stats after = cache.stats();
    const uint64_t uploads = after.uploads - before.uploads;
    const uint64_t ahead = after.prefetches - before.prefetches;
    std::printf("[ measure  ] pass over w%d..w%d: %llu uploads, %llu ahead\n", from, to - 1,
                static_cast<unsigned long long>(uploads), static_cast<unsigned long long>(ahead));
    return Counts{uploads, uploads - ahead, ahead};
  };
  const Counts first = pass(0, 8);  // records the order
  EXPECT_EQ(first.uploads, 8u);
  EXPECT_EQ(first.ahead, 0u);
  for (int p = 0; p < 4; ++p) {
    const Counts c = pass(0, 8);
    if (p > 0) {
      EXPECT_EQ(c.at_use, 0u) << "repeat " << p;  // all of the streamed part ahead
    }
    // Resident: the budget less the one weight in flight; the rest streams.
    EXPECT_LE(c.uploads, 8u - 4u + 1u) << "repeat " << p;
  }
  const uint64_t unused_before = cache.stats().unused_prefetches;
  const Counts other = pass(8, 10);
  EXPECT_EQ(other.ahead, 0u);
  EXPECT_EQ(other.uploads, 2u);
  EXPECT_EQ(cache.stats().unused_prefetches - unused_before,
            cache.stats().prefetches > 0 ? 1u : 0u);  // the next w0, fetched at the end
  EXPECT_LE(cache.stats().resident_bytes, budget);
}

// Weights of mixed sizes (a block's big matrices between small norms and biases), budgets that
// hold most or little of them: from the third pass on nothing is uploaded at its use, and the
// bytes uploaded per pass are at most those of the same passes without prefetch plus what is
// held in flight. (A prefetch cursor that skipped weights dropped behind it once made every
// second pass upload 15 of these 19 at their use.)
TEST(DeviceWeightCache, PrefetchKeepsAheadWithMixedSizes) {
  HostBackedDevice dev;
  struct Case {
    std::vector<int> units;  // sizes in 16-byte units
    uint64_t budget_units, ahead_units;
  };
  std::vector<Case> cases = {
      {{4, 1, 1, 8, 1, 16, 1, 1, 8, 1, 1, 8, 4, 1, 8, 1, 1, 1, 1}, 59, 14},
      {{}, 0, 0},
  };
  for (int i = 0; i < 35; ++i) cases[1].units.push_back(1 + (i * 7) % 9);
  uint64_t total35 = 0;
  for (int u : cases[1].units) total35 += u;
  cases[1].budget_units = total35 * 85 / 100;
  cases[1].ahead_units = cases[1].budget_units / 4;
  for (const Case& c : cases) {
    std::vector<Tensor> w;
    for (size_t i = 0; i < c.units.size(); ++i)
      w.push_back(Tensor::from_vector({4 * c.units[i]}, test::random_vector(4 * c.units[i], i)));
    auto bytes_per_pass = [&](uint64_t prefetch_units) {
      DeviceWeightCache cache(kFake, c.budget_units * 16);
      cache.set_prefetch(prefetch_units * 16);
      std::vector<uint64_t> bytes;
      for (int pass = 0; pass < 8; ++pass) {
        const DeviceWeightCache::Stats before = cache.stats();
        cache.begin_pass();
        for (size_t i = 0; i < w.size(); ++i) {
          const Tensor got = cache.get("w" + std::to_string(i), [t = w[i]] { return t; });
          EXPECT_EQ(got.to(Device::cpu()).to_vector(), w[i].to_vector());
          EXPECT_LE(cache.stats().resident_bytes, c.budget_units * 16 + got.nbytes());
        }
        const DeviceWeightCache::Stats after = cache.stats();
        const uint64_t at_use =
            after.uploads - before.uploads - (after.prefetches - before.prefetches);
        if (prefetch_units > 0 && pass >= 2) {
          EXPECT_EQ(at_use, 0u) << "pass " << pass;
        }
        bytes.push_back(after.uploaded_bytes - before.uploaded_bytes);
      }
      return bytes;
    };
    const std::vector<uint64_t> off = bytes_per_pass(0), on = bytes_per_pass(c.ahead_units);
    for (size_t pass = 2; pass < on.size(); ++pass)
      EXPECT_LE(on[pass], off[pass] + c.ahead_units * 16)
          << c.units.size() << " weights, pass " << pass;
    std::printf(
        "[ measure  ] %zu weights, budget %llu units, %llu ahead: %llu bytes per pass with "
        "prefetch, %llu without\n",
        c.units.size(), static_cast<unsigned long long>(c.budget_units),
        static_cast<unsigned long long>(c.ahead_units), static_cast<unsigned long long>(on.back()),
        static_cast<unsigned long long>(off.back()));
  }
}

// The denoiser on a device that cannot hold all its weights, against the CPU's velocities.
class DenoiserOnASmallDevice : public ::testing::Test {
 protected:
  const TinyModel tiny{};
  const Checkpoint& ckpt = tiny.ckpt;
  Exec ex{1};
  const JointInputs in{};
  const Velocities cpu = in.step(ex, JointDenoiser(ckpt));
};

// A joint step with a budget far below the denoiser's weights: the same velocities bit for bit,
// the weights re-uploaded as they are needed (from the second pass on, ahead of their use),
// never more than the budget (plus the one tensor being uploaded) resident.
TEST_F(DenoiserOnASmallDevice, StreamsItsWeightsWithinABudget) {
  uint64_t total = 0, largest = 0;
  for (Component c : {Component::kVideoDit, Component::kAudioDit, Component::kBridge}) {
    const WeightSet w = ckpt.weights(c);
    for (const auto& name : w.names()) {
      total += w.get(name).nbytes();
      largest = std::max<uint64_t>(largest, w.get(name).nbytes());
    }
  }
  HostBackedDevice dev;
  const uint64_t budget = total / 4;
  const JointDenoiser streamed(ckpt, kFake, budget);
  uint64_t before = 0;
  for (int pass = 0; pass < 3; ++pass) {
    const DeviceWeightCache::Stats ahead_of = streamed.device_weights()->stats();
    const Velocities got = in.step(ex, streamed);
    const DeviceWeightCache::Stats after = streamed.device_weights()->stats();
    const uint64_t at_use =
        after.uploads - ahead_of.uploads - (after.prefetches - ahead_of.prefetches);
    std::printf("[ measure  ] pass %d: %llu weights uploaded at their use\n", pass,
                static_cast<unsigned long long>(at_use));
    // The first pass records the order; later ones fetch every streamed weight ahead.
    if (pass > 0) {
      EXPECT_EQ(at_use, 0u) << "pass " << pass;
    }
    EXPECT_EQ(got.video.to_vector(), cpu.video.to_vector()) << "pass " << pass;
    EXPECT_EQ(got.audio.to_vector(), cpu.audio.to_vector()) << "pass " << pass;
    const uint64_t uploaded = streamed.device_weights()->stats().uploaded_bytes - before;
    before += uploaded;
    std::printf("[ measure  ] pass %d uploaded %llu of %llu weight bytes (budget %llu)\n", pass,
                static_cast<unsigned long long>(uploaded), static_cast<unsigned long long>(total),
                static_cast<unsigned long long>(budget));
    // The first pass uploads everything once; later ones about what does not fit.
    if (pass == 0) {
      EXPECT_GE(uploaded, total);
    } else {
      // Less the part in flight ahead of its use (a quarter of the budget).
      EXPECT_LE(uploaded, total - budget + budget / 4 + 2 * largest) << "pass " << pass;
    }
  }
  const DeviceWeightCache::Stats st = streamed.device_weights()->stats();
  std::printf("[ measure  ] %llu uploads, %llu of them ahead of their use, %llu unused\n",
              static_cast<unsigned long long>(st.uploads),
              static_cast<unsigned long long>(st.prefetches),
              static_cast<unsigned long long>(st.unused_prefetches));
  EXPECT_GT(st.prefetches, 0u);
  EXPECT_LE(st.peak_resident_bytes, budget + largest);
  EXPECT_LE(st.resident_bytes, budget + largest);
}

// No budget on a device too small for the denoiser: when an activation or upload does not fit,
// the weight cache gives copies back until it does, then keeps that much as its budget. The
// velocities stay the CPU's bit for bit; a device too small even for the activations is the
// pool's out-of-memory error.
TEST_F(DenoiserOnASmallDevice, FitsItsWeightsWithoutABudget) {
  // What one pass needs with every weight resident, and how much of it is weights.
  uint64_t weights = 0, roomy_peak = 0;
  {
    HostBackedDevice dev;
    const JointDenoiser all(ckpt, kFake);
    in.step(ex, all);
    weights = all.device_weights()->stats().resident_bytes;
    roomy_peak = dev.memory().peak();
    EXPECT_EQ(all.device_weights()->stats().reclaimed_bytes, 0u);
  }
  // A device with room for the activations and about half the weights (the allocator refuses
  // anything beyond; without the cache giving copies back the first pass fails).
  const size_t capacity = roomy_peak - weights / 2;
  {
    HostBackedDevice dev(capacity);
    const JointDenoiser fitted(ckpt, kFake);
    for (int pass = 0; pass < 3; ++pass) {
      const Velocities got = in.step(ex, fitted);
      EXPECT_EQ(got.video.to_vector(), cpu.video.to_vector()) << "pass " << pass;
      EXPECT_EQ(got.audio.to_vector(), cpu.audio.to_vector()) << "pass " << pass;
    }
    const DeviceWeightCache::Stats st = fitted.device_weights()->stats();
    std::printf(
        "[ measure  ] weights %llu B, roomy peak %llu B, capacity %zu B: reclaimed %llu B, "
        "learned budget %llu B, uploaded %llu B over 3 passes\n",
        static_cast<unsigned long long>(weights), static_cast<unsigned long long>(roomy_peak),
        capacity, static_cast<unsigned long long>(st.reclaimed_bytes),
        static_cast<unsigned long long>(st.budget_bytes),
        static_cast<unsigned long long>(st.uploaded_bytes));
    EXPECT_GT(st.reclaimed_bytes, 0u);
    EXPECT_GT(st.budget_bytes, 0u);
    EXPECT_LT(st.budget_bytes, weights);
    EXPECT_LE(st.resident_bytes, st.budget_bytes);
  }
  // Too small for the activations alone: every weight given back, then the pool's error.
  {
    HostBackedDevice dev(roomy_peak - weights - 1);
    const JointDenoiser starved(ckpt, kFake);
    test::expect_error([&] { in.step(ex, starved); }, {"out of fake cuda:7 memory"});
  }
}

// A give-back asked for by another thread while the cache is uploading (its lock held) returns at
// once with nothing, so two caches on one device that run out of memory on two threads cannot
// wait for each other; once idle, the cache gives its copies back. (A blocking lock hangs here:
// the upload waits for the other thread, which would wait for the lock.)
TEST(Backend, BusyWeightCacheGivesNothingBackToAnotherThread) {
  HostBackedDevice dev(64 << 10);
  DeviceWeightCache cache(kFake);
  const Tensor w = Tensor::from_vector({1024}, test::random_vector(1024, 3));  // 4 KiB
  const auto weight = [&] { return Tensor(w); };  // a copy of the handle per upload
  cache.get("a", weight);
  std::promise<void> inside, release;
  std::thread uploader([&] {
    cache.get("b", [&] {
      inside.set_value();
      release.get_future().wait();
      return weight();
    });
  });
  inside.get_future().wait();
  // 64 KiB needs "a" given back, and the cache is busy: this allocation fails, promptly.
  test::expect_error([&] { Tensor::empty({16000}, DType::kF32, &dev.buffers()); },
                     {"out of fake cuda:7 memory"});
  release.set_value();
  uploader.join();
  EXPECT_EQ(cache.stats().reclaimed_bytes, 0u);
  const Tensor big = Tensor::empty({16000}, DType::kF32, &dev.buffers());
  EXPECT_EQ(cache.stats().reclaimed_bytes, 8192u);  // "a" and "b"
  EXPECT_EQ(cache.stats().resident_bytes, 0u);
}

}  // namespace
}  // namespace mova
