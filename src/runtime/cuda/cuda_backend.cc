#include "runtime/cuda/cuda_backend.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "runtime/cuda/attention_plan.h"
#include "runtime/cuda/blas.h"
#include "runtime/cuda/cuda_check.h"
#include "runtime/cuda/cudnn_attention.h"
#include "runtime/cuda/cudnn_library.h"
#include "runtime/cuda/device.h"
#include "runtime/cuda/device_memory.h"
#include "runtime/cuda/kernels/activation.h"
#include "runtime/cuda/kernels/attention.h"
#include "runtime/cuda/kernels/channel_ops.h"
#include "runtime/cuda/kernels/conv_lowering.h"
#include "runtime/cuda/kernels/gather.h"
#include "runtime/cuda/kernels/norm.h"
#include "runtime/cuda/kernels/residual.h"
#include "runtime/cuda/kernels/rope.h"
#include "runtime/cuda/kernels/score_softmax.h"
#include "runtime/cuda/kernels/strided.h"
#include "runtime/cuda/upload_queue.h"
#include "runtime/error.h"
#include "runtime/log.h"
#include "runtime/ops/conv.h"

namespace mova::cuda {
namespace {

float* f32(const Tensor& t) {
  return static_cast<float*>(t.raw_data());
}

StridedLayout layout_of(const Tensor& t, const char* op) {
  MOVA_CHECK(t.dim() <= kMaxRank, ErrorKind::kUnsupported, op, ": ", t.describe(),
             " has more than ", kMaxRank, " dims");
  StridedLayout l;
  l.rank = t.dim();
  for (int d = 0; d < t.dim(); ++d) {
    l.shape[d] = t.size(d);
    l.strides[d] = t.stride(d);
  }
  return l;
}

// `t`'s layout stretched to `shape` (PyTorch broadcast: size-1 dims get stride 0).
StridedLayout broadcast_layout(const Tensor& t, const Shape& shape) {
  MOVA_CHECK(shape.size() <= static_cast<size_t>(kMaxRank) && t.dim() <= kMaxRank,
             ErrorKind::kUnsupported, "CUDA: broadcast of ", t.describe(), " to rank ",
             shape.size(), " (at most ", kMaxRank, ")");
  StridedLayout l;
  l.rank = static_cast<int>(shape.size());
  const int off = l.rank - t.dim();
  for (int d = 0; d < l.rank; ++d) {
    l.shape[d] = shape[d];
    l.strides[d] = d < off || t.size(d - off) == 1 ? 0 : t.stride(d - off);
  }
  return l;
}

class CudaBackend final : public Backend {
 public:
  CudaBackend(int index, Precision precision)
      : Backend(Device::cuda(index)),
        index_(index),
        precision_(precision),
        pool_(device_allocator(index)),
        blas_(index),
        uploads_(index, pool_),
        cudnn_(precision == Precision::kBF16 ? std::make_unique<CudnnAttention>(index, &pool_)
                                             : nullptr) {}

  ~CudaBackend() override {
    cudaSetDevice(index_);
    cudaDeviceSynchronize();  // a destructor reports nothing; queued work must not outlive us
  }

  BufferPool& buffers() override { return pool_; }

  void synchronize() override {
    make_current();
    MOVA_CUDA_CHECK(cudaDeviceSynchronize());
  }

  // Through pinned staging on a copy stream beside the ops (upload_queue.h); at once when that
  // queue cannot run.
  std::unique_ptr<PendingUpload> begin_upload(const Tensor& host) override {
    make_current();
    if (auto pending = uploads_.begin(host)) return pending;
    return Backend::begin_upload(host);
  }

  void copy(const Tensor& dst, const Tensor& src) override {
    make_current();
    if (dst.numel() == 0) return;
    if (dst.device() != src.device() || dst.device().is_cpu()) {
      MOVA_CHECK(dst.dtype() == src.dtype() && dst.is_contiguous() && src.is_contiguous(),
                 ErrorKind::kInternal, "transfer from ", src.describe(), " to ", dst.describe(),
                 " needs both contiguous with one dtype");
      if (dst.device().is_cpu()) {
        copy_to_host(dst.raw_data(), src.raw_data(), dst.nbytes());  // waits for queued work
      } else if (src.device().is_cpu()) {
        copy_to_device(dst.raw_data(), src.raw_data(), dst.nbytes());
      } else {
        // A kernel on one GPU cannot read another's memory without peer access (never
        // enabled): the bytes go through cudaMemcpyPeer.
        MOVA_CUDA_CHECK(cudaMemcpyPeer(dst.raw_data(), dst.device().index, src.raw_data(),
                                       src.device().index, dst.nbytes()));
      }
      return;
    }
    copy_strided(dst.raw_data(), dst.dtype(), layout_of(dst, "copy"), src.raw_data(), src.dtype(),
                 layout_of(src, "copy"));
  }

  Tensor linear(const Tensor& x, const Tensor& weight, const Tensor* bias,
                LinearResult result) override {
    const int64_t in = weight.size(1), out = weight.size(0);
    Shape out_shape = x.shape();
    out_shape.back() = out;
    // An operand is written in the GEMM dtype by the GEMM itself (F32 accumulation, one rounding).
    Tensor y = Tensor::empty(out_shape,
                             result == LinearResult::kOperand ? gemm_dtype() : DType::kF32, &pool_);
    const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));  // k may be 0
    gemm(x, weight, false, bias, y, rows, out, in);
    return y;
  }

  Tensor matmul(const Tensor& a, const Tensor& b, bool trans_b) override {
    const int64_t n = trans_b ? b.size(0) : b.size(1);
    Tensor c = Tensor::empty({a.size(0), n}, DType::kF32, &pool_);
    gemm(a, b.contiguous(&pool_), !trans_b, nullptr, c, a.size(0), n, a.size(1));
    return c;
  }

  Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) override {
    make_current();
    const Shape shape = broadcast_shapes(a.shape(), b.shape());
    Tensor y = Tensor::empty(shape, DType::kF32, &pool_);
    binary_strided(op, f32(y), layout_of(y, "binary"), f32(a), broadcast_layout(a, shape), f32(b),
                   broadcast_layout(b, shape));
    return y;
  }

  Tensor affine(const Tensor& x, float scale, float shift) override {
    make_current();
    Tensor y = Tensor::empty(x.shape(), DType::kF32, &pool_);
    affine_strided(f32(y), layout_of(y, "affine"), f32(x), layout_of(x, "affine"), scale, shift);
    return y;
  }

  Tensor gelu(const Tensor& x, bool tanh_approximation) override {
    return activation(x, tanh_approximation ? Activation::kGeluTanh : Activation::kGeluErf);
  }
  Tensor silu(const Tensor& x) override { return activation(x, Activation::kSilu); }

  Tensor layer_norm(const Tensor& x, const Tensor* weight, const Tensor* bias, float eps) override {
    make_current();
    const Tensor xc = x.contiguous(&pool_);
    const Tensor w = f32_or_empty(weight), b = f32_or_empty(bias);
    Tensor y = Tensor::empty(x.shape(), gemm_dtype(), &pool_);
    LayerNormParams p;
    p.weight = weight ? f32(w) : nullptr;
    p.bias = bias ? f32(b) : nullptr;
    p.eps = eps;
    const int64_t dim = x.size(-1);
    mova::cuda::layer_norm_modulate(xc.raw_data(), DType::kF32, y.raw_data(), y.dtype(),
                                    dim ? x.numel() / dim : 0, dim, p);
    return y;
  }

  Tensor layer_norm_modulate(const Tensor& x, const Tensor& shift, const Tensor& scale,
                             float eps) override {
    make_current();
    const Tensor xc = x.contiguous(&pool_);
    const Tensor sh = f32_or_empty(&shift), sc = f32_or_empty(&scale);
    Tensor y = Tensor::empty(x.shape(), gemm_dtype(), &pool_);
    LayerNormParams p;
    p.shift = f32(sh);
    p.scale = f32(sc);
    p.eps = eps;
    const int64_t dim = x.size(-1);
    mova::cuda::layer_norm_modulate(xc.raw_data(), DType::kF32, y.raw_data(), y.dtype(),
                                    dim ? x.numel() / dim : 0, dim, p);
    return y;
  }

  Tensor gated_residual(const Tensor& x, const Tensor& gate, const Tensor& y) override {
    make_current();
    const Tensor xc = x.contiguous(&pool_), yc = y.contiguous(&pool_), g = f32_or_empty(&gate);
    Tensor out = Tensor::empty(x.shape(), DType::kF32, &pool_);
    const int64_t dim = x.size(-1);
    residual_gate(f32(xc), yc.raw_data(), DType::kF32, dim ? x.numel() / dim : 0, dim, f32(g),
                  f32(out));
    return out;
  }

  Tensor rms_norm(const Tensor& x, const Tensor* weight, float eps) override {
    make_current();
    const Tensor xc = x.contiguous(&pool_);
    const Tensor w = f32_or_empty(weight);
    Tensor y = Tensor::empty(x.shape(), x.dtype(), &pool_);  // F32 or a BF16 hand-off
    const int64_t dim = x.size(-1);
    mova::cuda::rms_norm(xc.raw_data(), y.raw_data(), y.dtype(), dim ? x.numel() / dim : 0, dim,
                         weight ? f32(w) : nullptr, eps);
    return y;
  }

  Tensor channel_rms_norm(const Tensor& x, const Tensor& gamma, bool then_silu) override {
    make_current();
    const Tensor xc = x.contiguous(&pool_);
    const Tensor g = f32_or_empty(&gamma);
    Tensor y = Tensor::empty(x.shape(), DType::kF32, &pool_);
    const int64_t C = x.size(0);
    mova::cuda::channel_rms_norm(f32(xc), f32(y), C, C ? x.numel() / C : 0, f32(g), then_silu);
    return y;
  }

  Tensor gather_rows(const Tensor& table, const Tensor& indices, bool transposed) override {
    make_current();
    const Tensor tc = table.contiguous(&pool_), ic = indices.contiguous(&pool_);
    const int64_t M = indices.size(0), D = table.size(1);
    Tensor y = Tensor::empty(transposed ? Shape{D, M} : Shape{M, D}, DType::kF32, &pool_);
    mova::cuda::gather_rows(tc.raw_data(), tc.dtype(), tc.size(0), D,
                            static_cast<const int64_t*>(ic.raw_data()), M, f32(y), transposed);
    return y;
  }

  Tensor snake(const Tensor& x, const Tensor& alpha) override {
    make_current();
    const Tensor xc = x.contiguous(&pool_);
    const Tensor a = f32_or_empty(&alpha);
    Tensor y = Tensor::empty(x.shape(), DType::kF32, &pool_);
    mova::cuda::snake(f32(xc), f32(y), x.size(0), x.size(1), f32(a));
    return y;
  }

  Tensor conv3d(const Tensor& x, const Tensor& weight, const Tensor* bias,
                const Conv3dParams& p) override {
    const Tensor w5 = weight.dim() == 4 ? weight.unsqueeze(2) : weight;
    const Shape out = conv3d_output_shape(x.shape(), w5.shape(), p);
    Im2Col a;
    a.c_in = x.size(0);
    a.t = x.size(1);
    a.h = x.size(2);
    a.w = x.size(3);
    a.kt = w5.size(2);
    a.kh = w5.size(3);
    a.kw = w5.size(4);
    a.stride_t = p.stride_t;
    a.stride_h = p.stride_h;
    a.stride_w = p.stride_w;
    a.pad_t = p.pad_t_front;
    a.pad_h = p.pad_top;
    a.pad_w = p.pad_left;
    a.out_t = out[1];
    a.out_h = out[2];
    a.out_w = out[3];
    return lowered_conv(x, w5, bias, a, out);
  }

  Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor* bias,
                const Conv1dParams& p) override {
    const int64_t out_len = conv1d_output_length(x.size(1), weight.size(2), p);
    Im2Col a;
    a.c_in = x.size(0);
    a.w = x.size(1);
    a.kw = weight.size(2);
    a.stride_w = p.stride;
    a.pad_w = p.padding;
    a.dilation_w = p.dilation;
    a.out_w = out_len;
    return lowered_conv(x, weight, bias, a, {weight.size(0), out_len});
  }

  // cols [C_out·K, n] = Wᵀ · x for a chunk of input positions, then each output gathers its
  // taps from them (no atomics: chunks run in order on the stream, each output in one thread).
  Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor* bias,
                          const Conv1dParams& p) override {
    make_current();
    const int64_t c_in = weight.size(0), c_out = weight.size(1), k = weight.size(2);
    const int64_t L = x.size(1), out_len = conv_transpose1d_output_length(L, k, p);
    const DType dtype = gemm_dtype();
    const Tensor xd = x.contiguous(&pool_).to(dtype, &pool_);
    const Tensor wd = weight.contiguous(&pool_).to(dtype, &pool_);  // [C_in, C_out·K]
    Tensor out = Tensor::empty({c_out, out_len}, DType::kF32, &pool_);
    fill_with_bias(out, bias, {c_out, 1});
    const int64_t chunk = chunk_positions(c_out * k, L, DType::kF32);
    const Tensor cols = Tensor::empty({c_out * k * chunk}, DType::kF32, &pool_);
    TransposedGather tg;
    tg.cols = f32(cols);
    tg.out = f32(out);
    tg.c_out = c_out;
    tg.k = k;
    tg.out_len = out_len;
    tg.stride = p.stride;
    tg.padding = p.padding;
    tg.dilation = p.dilation;
    for (int64_t first = 0; first < L; first += chunk) {
      const int64_t n = std::min(chunk, L - first);
      DeviceGemm g;
      g.m = c_out * k;
      g.n = n;
      g.k = c_in;
      g.a = wd.raw_data();
      g.trans_a = true;
      g.lda = c_out * k;
      g.b = static_cast<const char*>(xd.raw_data()) + first * dtype_size(dtype);
      g.ldb = L;
      g.ab_dtype = dtype;
      g.c = cols.raw_data();
      g.ldc = n;
      g.c_dtype = DType::kF32;
      blas_.gemm(g);
      transposed_conv_gather(tg, first, n);
    }
    return out;
  }

  Tensor rope_interleaved(const Tensor& x, const RopeAngles& angles) override {
    make_current();
    const Tensor xc = x.contiguous(&pool_);
    Tensor y = Tensor::empty(x.shape(), x.dtype(), &pool_);  // F32 or a BF16 hand-off
    mova::cuda::rope_interleaved(xc.raw_data(), y.raw_data(), y.dtype(), rope_shape(x),
                                 static_cast<const double*>(angles.angle.raw_data()));
    return y;
  }

  Tensor rope_rotate_half(const Tensor& x, const Tensor& cos, const Tensor& sin) override {
    make_current();
    const Tensor xc = x.contiguous(&pool_);
    Tensor y = Tensor::empty(x.shape(), x.dtype(), &pool_);  // F32 or a BF16 hand-off
    mova::cuda::rope_rotate_half(xc.raw_data(), y.raw_data(), y.dtype(), rope_shape(x), f32(cos),
                                 f32(sin));
    return y;
  }

  Tensor attention(const Tensor& q, const Tensor& k, const Tensor& v,
                   const AttentionOptions& options) override {
    make_current();
    const int64_t B = q.size(0), Lq = q.size(1), H = q.size(2), D = q.size(3), Lk = k.size(1);
    MOVA_CHECK(v.size(3) == D, ErrorKind::kUnsupported, "attention on ", device().str(),
               ": v head size ", v.size(3), " differs from q/k head size ", D);
    AttentionArgs a;
    if (options.bias) {
      a.bias = f32(*options.bias);
      a.bias_heads = options.bias->size(0);
    }
    if (options.key_mask) a.key_mask = f32(*options.key_mask);
    // The BF16 path rounds q, k, v to BF16 (tensor cores) and returns BF16 (runtime/ops/
    // attention.h).
    const DType dtype = gemm_dtype();
    const Tensor qd = q.to(dtype, &pool_), kd = k.to(dtype, &pool_), vd = v.to(dtype, &pool_);
    Tensor out = Tensor::empty({B, Lq, H, D}, dtype, &pool_);
    a.q = qd.raw_data();
    a.k = kd.raw_data();
    a.v = vd.raw_data();
    a.out = out.raw_data();
    a.q_strides = head_strides(qd);
    a.k_strides = head_strides(kd);
    a.v_strides = head_strides(vd);
    a.dtype = dtype;
    a.batch = B;
    a.q_len = Lq;
    a.kv_len = Lk;
    a.heads = H;
    a.head_dim = D;
    a.scale = options.scale;
    // cuDNN declines F32, a bias or mask, and shapes it has no engine for: our kernels run those.
    if (!fused_attention_takes(D))
      attention_by_gemm(a);
    else if (!(cudnn_ && cudnn_->run(a)))
      mova::cuda::attention(a);
    return out;
  }

 private:
  // Per op: only cudaSetDevice (cheap); open_backend checked the index once, whereas
  // cuda::set_device also re-reads the device properties.
  void make_current() const { MOVA_CUDA_CHECK(cudaSetDevice(index_)); }

  static RopeShape rope_shape(const Tensor& x) {
    return {x.size(0), x.size(1), x.size(2), x.size(3)};
  }
  static HeadStrides head_strides(const Tensor& t) {
    return {t.stride(0), t.stride(1), t.stride(2)};
  }

  // A norm parameter as an F32 device vector (an empty tensor when absent).
  Tensor f32_or_empty(const Tensor* t) const {
    return t ? t->contiguous().to(DType::kF32) : Tensor();
  }

  DType gemm_dtype() const { return precision_ == Precision::kBF16 ? DType::kBF16 : DType::kF32; }

  // Attention for head sizes the fused kernels do not take (the video VAE's one head as wide as
  // its channels, 384 in the published VAE; the tiny presets' 12-32): per batch, head and chunk
  // of queries, scores = q·kᵀ by GEMM, the row softmax, then P·v by GEMM into that head's
  // columns of the output. P is in the GEMM dtype (rounded to BF16 before P·v, as the
  // tensor-core kernel does).
  void attention_by_gemm(const AttentionArgs& a) {
    if (a.batch == 0 || a.q_len == 0 || a.heads == 0) return;  // empty, as on the CPU
    MOVA_CHECK(a.kv_len > 0 && (a.bias_heads == 1 || a.bias_heads == a.heads), ErrorKind::kShape,
               "CUDA attention: ", a.kv_len, " keys, bias with ", a.bias_heads, " heads for ",
               a.heads);
    AttentionShape shape;
    shape.batch = a.batch, shape.q_len = a.q_len, shape.kv_len = a.kv_len;
    shape.heads = a.heads, shape.head_dim = a.head_dim, shape.bias_heads = a.bias_heads;
    shape.q = a.q_strides, shape.k = a.k_strides, shape.v = a.v_strides;
    const int64_t chunk = attention_chunk_rows(shape, int64_t{256} << 20);
    const Tensor scores = Tensor::empty({chunk * a.kv_len}, DType::kF32, &pool_);
    const Tensor probs =
        a.dtype == DType::kF32 ? scores : Tensor::empty({chunk * a.kv_len}, a.dtype, &pool_);
    const float scale =
        a.scale != 0.0f ? a.scale : 1.0f / std::sqrt(static_cast<float>(a.head_dim));
    const int64_t elem = dtype_size(a.dtype);
    const auto at = [elem](const void* base, int64_t offset) {
      return static_cast<const char*>(base) + offset * elem;
    };
    for_each_attention_chunk(shape, chunk, [&](const AttentionChunk& c) {
      DeviceGemm s;
      s.m = c.rows;
      s.n = a.kv_len;
      s.k = a.head_dim;
      s.a = at(a.q, c.q_offset);
      s.lda = a.q_strides.pos;
      s.b = at(a.k, c.k_offset);
      s.ldb = a.k_strides.pos;
      s.trans_b = true;
      s.ab_dtype = a.dtype;
      s.c = scores.raw_data();
      s.ldc = a.kv_len;
      s.c_dtype = DType::kF32;
      blas_.gemm(s);
      ScoreSoftmaxArgs p;
      p.scores = f32(scores);
      p.probs = probs.raw_data();
      p.probs_dtype = a.dtype;
      p.rows = c.rows;
      p.cols = a.kv_len;
      p.scale = scale;
      if (a.bias) p.bias = a.bias + c.bias_offset;
      if (a.key_mask) p.key_mask = a.key_mask + c.mask_offset;
      score_softmax(p);
      DeviceGemm pv;
      pv.m = c.rows;
      pv.n = a.head_dim;
      pv.k = a.kv_len;
      pv.a = probs.raw_data();
      pv.lda = a.kv_len;
      pv.b = at(a.v, c.v_offset);
      pv.ldb = a.v_strides.pos;
      pv.ab_dtype = a.dtype;
      pv.c = static_cast<char*>(a.out) + c.out_offset * elem;
      pv.ldc = a.heads * a.head_dim;
      pv.c_dtype = a.dtype;
      blas_.gemm(pv);
    });
  }

  // Positions per lowering chunk: columns of `rows` values each within a fixed budget, in
  // multiples of 64 so every chunk's GEMM operands stay 256-byte aligned.
  static int64_t chunk_positions(int64_t rows, int64_t positions, DType dtype) {
    constexpr int64_t kBudgetBytes = int64_t{256} << 20;
    const int64_t fit = kBudgetBytes / std::max<int64_t>(rows * dtype_size(dtype), 1) / 64 * 64;
    return std::min(std::max<int64_t>(fit, 64), std::max<int64_t>(positions, 1));
  }

  // out (2-D) ← bias viewed as bias_shape ([C, 1] or [1, N]) broadcast over it, zeros without
  // a bias: the start that GEMMs accumulate onto, and the whole result of a k = 0 product.
  void fill_with_bias(const Tensor& out, const Tensor* bias, const Shape& bias_shape) {
    if (!bias) {
      MOVA_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.nbytes()));
      return;
    }
    const Tensor b = f32_or_empty(bias).reshape(bias_shape);
    copy_strided(out.raw_data(), out.dtype(), layout_of(out, "bias fill"), b.raw_data(),
                 DType::kF32, broadcast_layout(b, out.shape()));
  }

  // conv3d and conv1d: per chunk of output positions, im2col into cols [K, n], then
  // out[:, chunk] += W [C_out, K] · cols on cuBLASLt.
  Tensor lowered_conv(const Tensor& x, const Tensor& weight, const Tensor* bias, Im2Col a,
                      const Shape& out_shape) {
    make_current();
    const int64_t c_out = weight.size(0), K = c_out ? weight.numel() / c_out : 0;
    const int64_t positions = a.out_t * a.out_h * a.out_w;
    const DType dtype = gemm_dtype();
    const Tensor xc = x.contiguous(&pool_);
    const Tensor wd = weight.contiguous(&pool_).to(dtype, &pool_);
    Tensor out = Tensor::empty(out_shape, DType::kF32, &pool_);
    fill_with_bias(out.reshape({c_out, positions}), bias, {c_out, 1});
    if (positions == 0 || K == 0) return out;
    a.x = f32(xc);
    const int64_t chunk = chunk_positions(K, positions, dtype);
    const Tensor cols = Tensor::empty({K * chunk}, dtype, &pool_);
    for (int64_t first = 0; first < positions; first += chunk) {
      const int64_t n = std::min(chunk, positions - first);
      im2col(a, first, n, cols.raw_data(), dtype);
      DeviceGemm g;
      g.m = c_out;
      g.n = n;
      g.k = K;
      g.a = wd.raw_data();
      g.lda = K;
      g.b = cols.raw_data();
      g.ldb = n;
      g.ab_dtype = dtype;
      g.c = f32(out) + first;
      g.ldc = positions;
      g.c_dtype = DType::kF32;
      g.accumulate = true;
      blas_.gemm(g);
    }
    return out;
  }

  Tensor activation(const Tensor& x, Activation act) {
    make_current();
    const Tensor xc = x.contiguous(&pool_);
    Tensor y = Tensor::empty(x.shape(), x.dtype(), &pool_);  // F32 or a BF16 hand-off
    mova::cuda::activation(act, xc.raw_data(), y.raw_data(), y.dtype(), y.numel());
    return y;
  }

  // c[m, n] = a[m, k] · op(b) (+ bias): b is [n, k] (a Linear weight) unless b_is_k_by_n.
  void gemm(const Tensor& a, const Tensor& b, bool b_is_k_by_n, const Tensor* bias, const Tensor& c,
            int64_t m, int64_t n, int64_t k) {
    make_current();
    if (m == 0 || n == 0) return;
    if (k == 0) {  // cuBLASLt rejects an empty inner dimension; the product is the bias alone
      fill_with_bias(c.reshape({m, n}), bias, {1, n});
      return;
    }
    const DType dtype = gemm_dtype();
    const Tensor ad = a.contiguous(&pool_).to(dtype, &pool_);
    const Tensor bd = b.to(dtype, &pool_);
    // cuBLASLt adds a bias of C's dtype (blas.h): a BF16 operand's is BF16, as checkpoints store
    // it (upstream's bf16 Linear adds it so too), an F32 result's F32.
    const Tensor bias_c = bias ? bias->contiguous().to(c.dtype()) : Tensor();
    DeviceGemm g;
    g.m = m;
    g.n = n;
    g.k = k;
    g.a = ad.raw_data();
    g.lda = k;
    g.b = bd.raw_data();
    g.trans_b = !b_is_k_by_n;
    g.ldb = b_is_k_by_n ? n : k;
    g.ab_dtype = dtype;
    g.c = c.raw_data();
    g.ldc = n;
    g.c_dtype = c.dtype();
    g.bias = bias ? bias_c.raw_data() : nullptr;
    blas_.gemm(g);
  }

  int index_;
  Precision precision_;
  BufferPool pool_;
  Blas blas_;
  UploadQueue uploads_;
  // BF16 attention where cuDNN's fused SDPA takes it; none on the F32 path.
  std::unique_ptr<CudnnAttention> cudnn_;
};

}  // namespace

std::unique_ptr<Backend> open_backend(int index, Precision precision) {
  const int count = device_count();
  MOVA_CHECK(count > 0, ErrorKind::kUnsupported, "cuda:", index,
             ": no CUDA device or driver on this machine");
  MOVA_CHECK(index >= 0 && index < count, ErrorKind::kUnsupported, "cuda:", index,
             ": no such device (this machine has ", count, ")");
  MOVA_LOG_INFO(
      "cuda:", index, ": ", describe(device_info(index)),
      precision == Precision::kBF16
          ? str_cat(", BF16 path; attention: ", cudnn_description(),
                    cudnn_api() ? " where it applies, else mova's kernels" : ", so mova's kernels")
          : std::string(", F32 path"));
  return std::make_unique<CudaBackend>(index, precision);
}

}  // namespace mova::cuda
