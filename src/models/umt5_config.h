// text_encoder/config.json (transformers UMT5Config; MOVA loads UMT5EncoderModel).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "models/tensor_layout.h"

namespace mova {

class JsonConfig;

struct Umt5Config {
  int64_t vocab_size = 250112;
  int64_t d_model = 512;
  int64_t d_kv = 64;
  int64_t d_ff = 1024;
  int64_t num_layers = 8;
  int64_t num_heads = 6;
  int64_t relative_attention_num_buckets = 32;
  int64_t relative_attention_max_distance = 128;
  double layer_norm_epsilon = 1e-6;
  std::string feed_forward_proj = "gated-gelu";
  int64_t pad_token_id = 0;
  int64_t eos_token_id = 1;

  static Umt5Config from_json(const JsonConfig& j);
  nlohmann::json to_json() const;
  int64_t inner_dim() const { return num_heads * d_kv; }
  // The token embedding is saved as `shared.weight`, `encoder.embed_tokens.weight` or both
  // (tied weights); the caller says which names the checkpoint uses.
  TensorLayout layout(bool has_shared = true, bool has_embed_tokens = false) const;
};

}  // namespace mova
