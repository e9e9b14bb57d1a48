#include "models/umt5_encoder.h"

#include <cmath>
#include <cstring>

#include "runtime/error.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/gather.h"
#include "runtime/ops/linear.h"
#include "runtime/ops/norm.h"

namespace mova {

int64_t relative_position_bucket(int64_t rel, int64_t num_buckets, int64_t max_distance) {
  const int64_t half = num_buckets / 2;
  int64_t bucket = rel > 0 ? half : 0;
  const int64_t n = std::abs(rel);
  const int64_t max_exact = half / 2;
  if (n < max_exact) return bucket + n;
  // Logarithmic buckets, computed in float32 and truncated, as upstream.
  const float scaled = std::log(static_cast<float>(n) / static_cast<float>(max_exact)) /
                       static_cast<float>(std::log(static_cast<double>(max_distance) / max_exact)) *
                       static_cast<float>(half - max_exact);
  const int64_t large = std::min<int64_t>(max_exact + static_cast<int64_t>(scaled), half - 1);
  return bucket + large;
}

Umt5Encoder::Umt5Encoder(Umt5Config config, WeightSet weights)
    : config_(std::move(config)), weights_(std::move(weights)) {
  embedding_name_ =
      weights_.contains("shared.weight") ? "shared.weight" : "encoder.embed_tokens.weight";
}

Tensor Umt5Encoder::encode(Exec& ex, const std::vector<int64_t>& ids,
                           const std::vector<int64_t>& mask) const {
  const int64_t L = static_cast<int64_t>(ids.size()), D = config_.d_model;
  const int64_t H = config_.num_heads, dkv = config_.d_kv;
  MOVA_CHECK(L >= 1 && mask.size() == ids.size(), ErrorKind::kShape,
             "text encoder: ids and attention mask must have the same non-zero length");
  const float eps = static_cast<float>(config_.layer_norm_epsilon);
  const Device device = weights_.device();
  // Indices are built and checked on the host and sent to the device once: the embedding rows
  // (no scaling), and for every layer's position bias the bucket of each (query, key) pair.
  Tensor token_index = Tensor::empty({L}, DType::kI64);
  for (int64_t i = 0; i < L; ++i) {
    MOVA_CHECK(ids[i] >= 0 && ids[i] < config_.vocab_size, ErrorKind::kInvalidArgument, "token id ",
               ids[i], " at position ", i, " is outside the vocabulary of ", config_.vocab_size);
    token_index.data<int64_t>()[i] = ids[i];
  }
  Tensor h = gather_rows(ex, w(embedding_name_), token_index.to(device)).reshape({1, L, D});
  Tensor key_mask = Tensor::empty({1, L}, DType::kF32);
  int64_t real = 0;
  for (int64_t i = 0; i < L; ++i) {
    key_mask.data<float>()[i] = mask[i] ? 1.0f : 0.0f;
    real += mask[i] ? 1 : 0;
  }
  key_mask = key_mask.to(device);
  std::vector<int64_t> bucket(2 * L - 1);
  for (int64_t d = -(L - 1); d <= L - 1; ++d)
    bucket[d + L - 1] = relative_position_bucket(d, config_.relative_attention_num_buckets,
                                                 config_.relative_attention_max_distance);
  Tensor pair_bucket = Tensor::empty({L * L}, DType::kI64);
  for (int64_t i = 0; i < L; ++i)
    for (int64_t j = 0; j < L; ++j) pair_bucket.data<int64_t>()[i * L + j] = bucket[j - i + L - 1];
  pair_bucket = pair_bucket.to(device);

  for (int64_t layer = 0; layer < config_.num_layers; ++layer) {
    const std::string p = "encoder.block." + std::to_string(layer) + ".layer.";
    // Position bias [H, L, L] from this layer's own table [buckets, H], where the weights are.
    const Tensor bias =
        gather_rows_transposed(ex, w(p + "0.SelfAttention.relative_attention_bias.weight"),
                               pair_bucket)
            .reshape({H, L, L});

    const Tensor ln0 = w(p + "0.layer_norm.weight");
    const Tensor x = rms_norm(ex, h, &ln0, eps);
    // q, k and v feed attention only (on a BF16 path stored as it reads them, handoff.h).
    const auto project = [&](const char* name) {
      return linear(ex, x, w(p + "0.SelfAttention." + name + ".weight"), nullptr,
                    LinearResult::kOperand)
          .reshape({1, L, H, dkv});
    };
    const Tensor q = project("q"), k = project("k"), v = project("v");
    AttentionOptions opt;
    opt.scale = 1.0f;  // T5 does not scale scores by 1/sqrt(d_kv)
    opt.bias = &bias;
    opt.key_mask = &key_mask;
    const Tensor a = attention(ex, q, k, v, opt).reshape({1, L, H * dkv});
    h = add(ex, h, linear(ex, a, w(p + "0.SelfAttention.o.weight")));

    const Tensor ln1 = w(p + "1.layer_norm.weight");
    const Tensor y = rms_norm(ex, h, &ln1, eps);
    const Tensor gate = gelu(ex, linear(ex, y, w(p + "1.DenseReluDense.wi_0.weight")), true);
    const Tensor up = linear(ex, y, w(p + "1.DenseReluDense.wi_1.weight"));
    h = add(ex, h, linear(ex, mul(ex, gate, up), w(p + "1.DenseReluDense.wo.weight")));
  }
  const Tensor fl = w("encoder.final_layer_norm.weight");
  Tensor out = rms_norm(ex, h, &fl, eps).to(Device::cpu());
  std::memset(out.data<float>() + real * D, 0, (L - real) * D * sizeof(float));
  return out;
}

}  // namespace mova
