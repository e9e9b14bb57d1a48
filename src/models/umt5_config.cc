#include "models/umt5_config.h"

#include "io/json_config.h"
#include "runtime/error.h"

namespace mova {

Umt5Config Umt5Config::from_json(const JsonConfig& j) {
  Umt5Config c;
  c.vocab_size = j.get_int("vocab_size", c.vocab_size);
  c.d_model = j.get_int("d_model", c.d_model);
  c.d_kv = j.get_int("d_kv", c.d_kv);
  c.d_ff = j.get_int("d_ff", c.d_ff);
  c.num_layers = j.get_int("num_layers", c.num_layers);
  c.num_heads = j.get_int("num_heads", c.num_heads);
  c.relative_attention_num_buckets =
      j.get_int("relative_attention_num_buckets", c.relative_attention_num_buckets);
  c.relative_attention_max_distance =
      j.get_int("relative_attention_max_distance", c.relative_attention_max_distance);
  c.layer_norm_epsilon = j.get_double("layer_norm_epsilon", c.layer_norm_epsilon);
  c.feed_forward_proj = j.get_string("feed_forward_proj", c.feed_forward_proj);
  c.pad_token_id = j.get_int("pad_token_id", c.pad_token_id);
  c.eos_token_id = j.get_int("eos_token_id", c.eos_token_id);
  for (const char* key : {"vocab_size", "d_model", "d_kv", "d_ff", "num_layers", "num_heads"})
    j.check_range(key, static_cast<double>(j.get_int(key)), 1, 1 << 24);
  j.check_range("relative_attention_num_buckets", c.relative_attention_num_buckets, 2, 4096);
  j.check_range("relative_attention_max_distance", c.relative_attention_max_distance, 1, 1 << 20);
  MOVA_CHECK(c.feed_forward_proj == "gated-gelu", ErrorKind::kUnsupported, j.origin(),
             ": feed_forward_proj '", c.feed_forward_proj,
             "' is not supported (UMT5-XXL uses \"gated-gelu\")");
  // transformers 4.x lets these keys override what feed_forward_proj implies, and is_decoder
  // turns the encoder's attention causal: anything but UMT5-XXL's values would be computed
  // differently, so it is refused rather than ignored.
  const std::string act = j.get_string("dense_act_fn", "gelu_new");
  MOVA_CHECK(act == "gelu_new" || act == "gelu_pytorch_tanh", ErrorKind::kUnsupported, j.origin(),
             ": dense_act_fn '", act, "' is not supported (UMT5-XXL uses \"gelu_new\")");
  MOVA_CHECK(j.get_bool("is_gated_act", true), ErrorKind::kUnsupported, j.origin(),
             ": is_gated_act false is not supported (UMT5-XXL's feed-forward is gated)");
  MOVA_CHECK(!j.get_bool("is_decoder", false), ErrorKind::kUnsupported, j.origin(),
             ": is_decoder true is not supported (the text encoder attends both ways)");
  j.check_range("pad_token_id", c.pad_token_id, 0, c.vocab_size - 1);
  j.check_range("eos_token_id", c.eos_token_id, 0, c.vocab_size - 1);
  return c;
}

nlohmann::json Umt5Config::to_json() const {
  return {{"architectures", {"UMT5EncoderModel"}},
          {"model_type", "umt5"},
          {"vocab_size", vocab_size},
          {"d_model", d_model},
          {"d_kv", d_kv},
          {"d_ff", d_ff},
          {"num_layers", num_layers},
          {"num_decoder_layers", num_layers},
          {"num_heads", num_heads},
          {"relative_attention_num_buckets", relative_attention_num_buckets},
          {"relative_attention_max_distance", relative_attention_max_distance},
          {"dropout_rate", 0.1},
          {"layer_norm_epsilon", layer_norm_epsilon},
          {"initializer_factor", 1.0},
          {"feed_forward_proj", feed_forward_proj},
          {"dense_act_fn", "gelu_new"},
          {"is_gated_act", true},
          {"is_encoder_decoder", true},
          {"use_cache", true},
          {"tie_word_embeddings", false},
          {"pad_token_id", pad_token_id},
          {"eos_token_id", eos_token_id},
          {"decoder_start_token_id", pad_token_id},
          {"torch_dtype", "bfloat16"}};
}

TensorLayout Umt5Config::layout(bool has_shared, bool has_embed_tokens) const {
  TensorLayout l;
  if (has_shared) l.add("shared.weight", {vocab_size, d_model}, ParamRole::kEmbedding);
  if (has_embed_tokens)
    l.add("encoder.embed_tokens.weight", {vocab_size, d_model}, ParamRole::kEmbedding);
  const int64_t inner = inner_dim();
  for (int64_t i = 0; i < num_layers; ++i) {
    const std::string b = "encoder.block." + std::to_string(i) + ".layer.";
    for (const char* p : {"q", "k", "v"})
      l.add(b + "0.SelfAttention." + p + ".weight", {inner, d_model});
    l.add(b + "0.SelfAttention.o.weight", {d_model, inner});
    l.add(b + "0.SelfAttention.relative_attention_bias.weight",
          {relative_attention_num_buckets, num_heads}, ParamRole::kTableValue);
    l.add(b + "0.layer_norm.weight", {d_model}, ParamRole::kNormGain);
    l.add(b + "1.DenseReluDense.wi_0.weight", {d_ff, d_model});
    l.add(b + "1.DenseReluDense.wi_1.weight", {d_ff, d_model});
    l.add(b + "1.DenseReluDense.wo.weight", {d_model, d_ff});
    l.add(b + "1.layer_norm.weight", {d_model}, ParamRole::kNormGain);
  }
  l.add("encoder.final_layer_norm.weight", {d_model}, ParamRole::kNormGain);
  return l;
}

}  // namespace mova
