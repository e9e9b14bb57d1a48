#include "runtime/ops/conv.h"

#include <algorithm>
#include <vector>

#include "runtime/backend.h"
#include "runtime/cpu/gemm.h"
#include "runtime/error.h"
#include "runtime/profile.h"

namespace mova {
namespace {

constexpr int64_t kChunk = 2048;  // output (or input) positions per im2col block

std::vector<float> bias_vector(const Tensor* bias, int64_t n) {
  return bias ? bias->to_vector() : std::vector<float>(n, 0.0f);
}

// A contiguous F32 [C_in, T, H, W] input seen through a 3-D kernel.
struct Conv3dGeometry {
  const float* x;
  int64_t c_in, T, H, W, kt, kh, kw, Wo;
  const Conv3dParams& p;
};

// Row r = ((ci·kt + a)·kh + bh)·kw + c of output frame `to`'s im2col columns [K, positions]:
// for output positions q0..q0+n, the input value under kernel tap r (0 in the padding). At
// stride 1 each output row's run is one copy of an input row.
void gather_column_row(const Conv3dGeometry& g, int64_t to, int64_t r, int64_t q0, int64_t n,
                       float* row) {
  const Conv3dParams& p = g.p;
  const int64_t c = r % g.kw, bh = (r / g.kw) % g.kh, a = (r / (g.kw * g.kh)) % g.kt,
                ci = r / (g.kw * g.kh * g.kt);
  const int64_t ti = to * p.stride_t + a - p.pad_t_front;
  if (ti < 0 || ti >= g.T) {
    std::fill_n(row, n, 0.0f);
    return;
  }
  const float* plane = g.x + (ci * g.T + ti) * g.H * g.W;
  for (int64_t q = q0; q < q0 + n;) {
    const int64_t ho = q / g.Wo, wo0 = q % g.Wo;
    const int64_t len = std::min(g.Wo - wo0, q0 + n - q);
    float* dst = row + (q - q0);
    const int64_t hi = ho * p.stride_h + bh - p.pad_top;
    if (hi < 0 || hi >= g.H) {
      std::fill_n(dst, len, 0.0f);
    } else {
      const float* src = plane + hi * g.W;
      if (p.stride_w == 1) {
        // wi = wo + shift is inside the row for i in [lo, end).
        const int64_t shift = c - p.pad_left;
        const int64_t lo = std::clamp<int64_t>(-shift - wo0, 0, len);
        const int64_t end = std::clamp<int64_t>(g.W - shift - wo0, lo, len);
        std::fill_n(dst, lo, 0.0f);
        if (end > lo) std::copy_n(src + wo0 + lo + shift, end - lo, dst + lo);
        std::fill_n(dst + end, len - end, 0.0f);
      } else {
        for (int64_t i = 0; i < len; ++i) {
          const int64_t wi = (wo0 + i) * p.stride_w + c - p.pad_left;
          dst[i] = (wi >= 0 && wi < g.W) ? src[wi] : 0.0f;
        }
      }
    }
    q += len;
  }
}

void check_bias(const Tensor* bias, int64_t n, const Tensor& weight) {
  MOVA_CHECK(!bias || bias->numel() == n, ErrorKind::kShape, "conv: bias ",
             bias ? bias->describe() : "", " does not match weight ", weight.describe());
}

void check_input(const Tensor& x, const Tensor& w, int64_t c_in, const char* op) {
  MOVA_CHECK(x.dtype() == DType::kF32 && x.dim() == 2 && x.size(0) == c_in, ErrorKind::kShape, op,
             ": input ", x.describe(), " must be F32 [", c_in, ", L] for weight ", w.describe());
}

}  // namespace

int64_t conv1d_output_length(int64_t length, int64_t kernel, const Conv1dParams& p) {
  return (length + 2 * p.padding - (p.dilation * (kernel - 1) + 1)) / p.stride + 1;
}

int64_t conv_transpose1d_output_length(int64_t length, int64_t kernel, const Conv1dParams& p) {
  return (length - 1) * p.stride - 2 * p.padding + p.dilation * (kernel - 1) + p.output_padding + 1;
}

Shape conv3d_output_shape(const Shape& x, const Shape& weight, const Conv3dParams& p) {
  const int64_t Tp = x[1] + p.pad_t_front + p.pad_t_back, Hp = x[2] + p.pad_top + p.pad_bottom,
                Wp = x[3] + p.pad_left + p.pad_right;
  return {weight[0], (Tp - weight[2]) / p.stride_t + 1, (Hp - weight[3]) / p.stride_h + 1,
          (Wp - weight[4]) / p.stride_w + 1};
}

Tensor conv1d(Exec& ex, const Tensor& x, const Tensor& weight, const Tensor* bias,
              const Conv1dParams& p) {
  MOVA_CHECK(weight.dim() == 3 && dtype_is_float(weight.dtype()), ErrorKind::kShape,
             "conv1d: weight ", weight.describe(), " must be [C_out, C_in, K]");
  const int64_t c_out = weight.size(0), c_in = weight.size(1), k = weight.size(2);
  check_input(x, weight, c_in, "conv1d");
  MOVA_CHECK(p.stride >= 1 && p.dilation >= 1 && p.padding >= 0, ErrorKind::kInvalidArgument,
             "conv1d: bad stride/dilation/padding");
  const int64_t L = x.size(1);
  const int64_t span = p.dilation * (k - 1) + 1;
  MOVA_CHECK(L + 2 * p.padding >= span, ErrorKind::kShape, "conv1d: input length ", L,
             " is shorter than the kernel span ", span);
  const int64_t L_out = conv1d_output_length(L, k, p);
  check_bias(bias, c_out, weight);
  if (const Device d = common_device("conv1d", {&x, &weight, bias}); !d.is_cpu())
    return backend_for(d, "conv1d").conv1d(x, weight, bias, p);
  const Tensor xc = x.contiguous(&ex.buffers());
  const Tensor wf = weight.to(DType::kF32).contiguous();
  const std::vector<float> b = bias_vector(bias, c_out);
  // out^T [L_out, C_out] = cols [L_out, C_in·K] · W^T, then transposed into [C_out, L_out].
  Tensor out = Tensor::empty({c_out, L_out}, DType::kF32, &ex.buffers());
  const float* px = xc.data<float>();
  float* po = out.data<float>();
  profile::Scope scope(profile::Category::kGemm, 2.0 * L_out * c_out * c_in * k);
  const int64_t chunks = (L_out + kChunk - 1) / kChunk;
  ex.pool().parallel_for(chunks, 1, [&](int64_t c0, int64_t c1) {
    std::vector<float> cols, res;
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t o0 = c * kChunk, n = std::min(kChunk, L_out - o0);
      cols.assign(n * c_in * k, 0.0f);
      for (int64_t o = 0; o < n; ++o) {
        const int64_t start = (o0 + o) * p.stride - p.padding;
        float* row = cols.data() + o * c_in * k;
        for (int64_t ci = 0; ci < c_in; ++ci)
          for (int64_t kk = 0; kk < k; ++kk) {
            const int64_t pos = start + kk * p.dilation;
            if (pos >= 0 && pos < L) row[ci * k + kk] = px[ci * L + pos];
          }
      }
      res.resize(n * c_out);
      cpu::GemmProblem g;
      g.m = n;
      g.n = c_out;
      g.k = c_in * k;
      g.a = cols.data();
      g.lda = c_in * k;
      g.b = wf.data<float>();
      g.ldb = c_in * k;
      g.trans_b = true;
      g.c = res.data();
      g.ldc = c_out;
      g.bias = b.data();
      cpu::gemm(g, nullptr);
      for (int64_t o = 0; o < n; ++o)
        for (int64_t co = 0; co < c_out; ++co) po[co * L_out + o0 + o] = res[o * c_out + co];
    }
  });
  return out;
}

Tensor conv_transpose1d(Exec& ex, const Tensor& x, const Tensor& weight, const Tensor* bias,
                        const Conv1dParams& p) {
  MOVA_CHECK(weight.dim() == 3 && dtype_is_float(weight.dtype()), ErrorKind::kShape,
             "conv_transpose1d: weight ", weight.describe(), " must be [C_in, C_out, K]");
  const int64_t c_in = weight.size(0), c_out = weight.size(1), k = weight.size(2);
  check_input(x, weight, c_in, "conv_transpose1d");
  MOVA_CHECK(p.stride >= 1 && p.dilation >= 1 && p.padding >= 0 && p.output_padding >= 0 &&
                 p.output_padding < std::max(p.stride, p.dilation),
             ErrorKind::kInvalidArgument, "conv_transpose1d: bad stride/padding/output_padding");
  const int64_t L = x.size(1);
  const int64_t L_out = conv_transpose1d_output_length(L, k, p);
  MOVA_CHECK(L_out > 0, ErrorKind::kShape, "conv_transpose1d: empty output for ", x.describe());
  check_bias(bias, c_out, weight);
  if (const Device d = common_device("conv_transpose1d", {&x, &weight, bias}); !d.is_cpu())
    return backend_for(d, "conv_transpose1d").conv_transpose1d(x, weight, bias, p);
  const Tensor xt = x.transpose(0, 1).contiguous(&ex.buffers());  // [L, C_in]
  const Tensor wf = weight.to(DType::kF32).contiguous().reshape({c_in, c_out * k});
  const std::vector<float> b = bias_vector(bias, c_out);
  Tensor out = Tensor::empty({c_out, L_out}, DType::kF32, &ex.buffers());
  float* po = out.data<float>();
  for (int64_t co = 0; co < c_out; ++co) std::fill_n(po + co * L_out, L_out, b[co]);
  profile::Scope scope(profile::Category::kGemm, 2.0 * L * c_out * c_in * k);
  // cols [L, C_out·K] = x^T · W, then each input position scatters K taps per channel. Chunks
  // of input positions are processed in order; threads split the output channels of the
  // scatter so no two write the same element.
  const int64_t chunk = kChunk;
  std::vector<float> cols;
  for (int64_t i0 = 0; i0 < L; i0 += chunk) {
    const int64_t n = std::min(chunk, L - i0);
    cols.resize(n * c_out * k);
    cpu::GemmProblem g;
    g.m = n;
    g.n = c_out * k;
    g.k = c_in;
    g.a = xt.data<float>() + i0 * c_in;
    g.lda = c_in;
    g.b = wf.data<float>();
    g.ldb = c_out * k;
    g.c = cols.data();
    g.ldc = c_out * k;
    cpu::gemm(g, &ex.pool());
    ex.pool().parallel_for(c_out, 1, [&](int64_t a, int64_t e) {
      for (int64_t co = a; co < e; ++co)
        for (int64_t i = 0; i < n; ++i)
          for (int64_t kk = 0; kk < k; ++kk) {
            const int64_t pos = (i0 + i) * p.stride - p.padding + kk * p.dilation;
            if (pos >= 0 && pos < L_out) po[co * L_out + pos] += cols[(i * c_out + co) * k + kk];
          }
    });
  }
  return out;
}

Tensor conv3d(Exec& ex, const Tensor& x, const Tensor& weight, const Tensor* bias,
              const Conv3dParams& p) {
  MOVA_CHECK((weight.dim() == 5 || weight.dim() == 4) && dtype_is_float(weight.dtype()),
             ErrorKind::kShape, "conv3d: weight ", weight.describe(),
             " must be [C_out, C_in, kt, kh, kw] or [C_out, C_in, kh, kw]");
  const Tensor w5 = weight.dim() == 4 ? weight.unsqueeze(2) : weight;
  const int64_t c_out = w5.size(0), c_in = w5.size(1), kt = w5.size(2), kh = w5.size(3),
                kw = w5.size(4);
  MOVA_CHECK(x.dtype() == DType::kF32 && x.dim() == 4 && x.size(0) == c_in, ErrorKind::kShape,
             "conv3d: input ", x.describe(), " must be F32 [", c_in, ", T, H, W] for weight ",
             weight.describe());
  MOVA_CHECK(p.stride_t >= 1 && p.stride_h >= 1 && p.stride_w >= 1 && p.pad_t_front >= 0 &&
                 p.pad_t_back >= 0 && p.pad_top >= 0 && p.pad_bottom >= 0 && p.pad_left >= 0 &&
                 p.pad_right >= 0,
             ErrorKind::kInvalidArgument, "conv3d: strides must be >= 1 and paddings >= 0");
  const int64_t T = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t Tp = T + p.pad_t_front + p.pad_t_back, Hp = H + p.pad_top + p.pad_bottom,
                Wp = W + p.pad_left + p.pad_right;
  MOVA_CHECK(Tp >= kt && Hp >= kh && Wp >= kw, ErrorKind::kShape, "conv3d: input ", x.describe(),
             " is smaller than the kernel of ", weight.describe());
  const Shape o = conv3d_output_shape(x.shape(), w5.shape(), p);
  const int64_t To = o[1], Ho = o[2], Wo = o[3];
  check_bias(bias, c_out, weight);
  if (const Device d = common_device("conv3d", {&x, &weight, bias}); !d.is_cpu())
    return backend_for(d, "conv3d").conv3d(x, weight, bias, p);
  const Tensor xc = x.contiguous(&ex.buffers());
  const Tensor wf = w5.to(DType::kF32).contiguous();
  const std::vector<float> b = bias_vector(bias, c_out);
  Tensor out = Tensor::empty({c_out, To, Ho, Wo}, DType::kF32, &ex.buffers());
  const Conv3dGeometry geo{xc.data<float>(), c_in, T, H, W, kt, kh, kw, Wo, p};
  float* po = out.data<float>();
  const int64_t K = c_in * kt * kh * kw, HWo = Ho * Wo;
  profile::Scope scope(profile::Category::kGemm, 2.0 * To * HWo * c_out * K);
  // Tasks: (output frame, block of output positions). Each writes out[:, frame, block] =
  // bias + W [C_out, K] · columns [K, n] straight into the output (no transpose); the columns
  // are never stored whole: the GEMM packs each row as gather_column_row writes it. Too few tasks
  // to occupy the pool: the GEMM is threaded, and so is the gathering.
  const int64_t chunks = (HWo + kChunk - 1) / kChunk, tasks = To * chunks;
  const bool threaded_gemm = tasks < ex.pool().size();
  auto run = [&](int64_t t0, int64_t t1) {
    for (int64_t task = t0; task < t1; ++task) {
      const int64_t to = task / chunks, q0 = (task % chunks) * kChunk;
      const int64_t n = std::min(kChunk, HWo - q0);
      float* dst = po + to * HWo + q0;
      for (int64_t co = 0; co < c_out; ++co) std::fill_n(dst + co * To * HWo, n, b[co]);
      cpu::GemmProblem g;
      g.m = c_out;
      g.n = n;
      g.k = K;
      g.a = wf.data<float>();
      g.lda = K;
      g.b_row = [&geo, to, q0](int64_t r, int64_t j0, int64_t count, float* row) {
        gather_column_row(geo, to, r, q0 + j0, count, row);
      };
      g.c = dst;
      g.ldc = To * HWo;
      g.accumulate = true;  // onto the bias: the same sums, bit for bit, as a bias-first GEMM
      cpu::gemm(g, threaded_gemm ? &ex.pool() : nullptr);
    }
  };
  if (threaded_gemm)
    run(0, tasks);
  else
    ex.pool().parallel_for(tasks, 1, run);
  return out;
}

}  // namespace mova
