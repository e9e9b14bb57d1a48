// `mova make-tiny` and `mova info` end to end, and malformed checkpoints: each corruption
// must give a non-zero exit code and a message naming the file and the problem, never a crash
// (a signal shows up as exit code >= 128, which these tests reject).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "io/safetensors.h"
#include "json_file.h"
#include "models/checkpoint.h"
#include "models/tiny_checkpoint.h"
#include "test_util.h"

namespace mova {
namespace {
namespace fs = std::filesystem;
using test::run_cli;
using test::shell_quote;

class CheckpointCli : public ::testing::Test {
 protected:
  void SetUp() override { write_tiny_checkpoint(ckpt(), {}); }
  std::string ckpt() const { return dir.file("ckpt"); }
  std::string path(const std::string& rel) const { return ckpt() + "/" + rel; }

  // `mova info` must fail cleanly with every part in its output.
  void expect_info_fails(std::initializer_list<std::string> parts) {
    const auto r = run_cli("info " + shell_quote(ckpt()));
    EXPECT_NE(r.exit_code, 0) << r.output;
    EXPECT_LT(r.exit_code, 128) << "crashed: " << r.output;
    for (const auto& p : parts) EXPECT_NE(r.output.find(p), std::string::npos) << r.output;
  }
  void edit_json(const std::string& rel, const std::function<void(nlohmann::json&)>& fn) {
    test::edit_json_file(path(rel), fn);
  }
  void truncate_file(const std::string& rel, uintmax_t size) { fs::resize_file(path(rel), size); }
  // Rewrites a safetensors file through `fn`, which may add, drop or replace tensors.
  void rewrite(const std::string& rel,
               const std::function<void(std::map<std::string, Tensor>&)>& fn) {
    std::map<std::string, Tensor> tensors;
    {
      auto f = SafetensorsFile::open(path(rel));
      for (const auto& t : f->tensors()) tensors[t.name] = f->tensor(t.name).clone();
    }
    fn(tensors);
    SafetensorsWriter w;
    for (auto& [n, t] : tensors) w.add(n, t);
    w.write(path(rel));
  }

  test::TempDir dir;
};

TEST_F(CheckpointCli, TinyCheckpointIsValidAndComplete) {
  const auto r = run_cli("info --json " + shell_quote(ckpt()));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_TRUE(j["complete"].get<bool>());
  ASSERT_EQ(j["components"].size(), 9u);
  bool saw_tokenizer = false;
  for (const auto& c : j["components"]) {
    EXPECT_EQ(c["status"], "ok") << c.dump();
    if (c["name"] == "tokenizer") {  // loaded, not just listed
      saw_tokenizer = true;
      EXPECT_EQ(c["config"]["reads"], "spiece.model") << c.dump();
      EXPECT_GT(c["config"]["pieces"].get<int64_t>(), 100) << c.dump();
    }
  }
  EXPECT_TRUE(saw_tokenizer);
  EXPECT_GT(j["total_parameters"].get<int64_t>(), 1000000);
  const auto text = run_cli("info " + shell_quote(ckpt()));
  EXPECT_EQ(text.exit_code, 0);
  EXPECT_NE(text.output.find("video_dit_2"), std::string::npos);
}

TEST_F(CheckpointCli, MakeTinyIsDeterministicAndSeeded) {
  write_tiny_checkpoint(dir.file("again"), {});
  TinyCheckpointOptions other;
  other.seed = 7;
  write_tiny_checkpoint(dir.file("other"), other);
  auto bytes = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  // (spiece.model is left out: sentencepiece records the training file path inside it.)
  for (const char* f : {"video_dit/diffusion_pytorch_model-00001-of-00002.safetensors",
                        "audio_vae/diffusion_pytorch_model.safetensors", "video_vae/config.json"}) {
    EXPECT_EQ(bytes(path(f)), bytes(dir.file("again/") + f)) << f;
  }
  EXPECT_NE(bytes(path("audio_dit/diffusion_pytorch_model.safetensors")),
            bytes(dir.file("other/audio_dit/diffusion_pytorch_model.safetensors")));
}

TEST_F(CheckpointCli, MakeTinyRefusesNonEmptyFolder) {
  const auto r = run_cli("make-tiny " + shell_quote(ckpt()));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("not empty"), std::string::npos);
}

TEST_F(CheckpointCli, WeightsAreNonTrivial) {
  const Checkpoint c = Checkpoint::open(ckpt());
  const WeightSet w = c.weights(Component::kBridge);
  const auto gain = w.get("audio_to_video_conditioners.0.y_norm.weight").to_vector();
  const auto bias = w.get("audio_to_video_conditioners.0.y_norm.bias").to_vector();
  bool gain_not_one = false, bias_not_zero = false;
  for (float g : gain) gain_not_one |= std::fabs(g - 1.0f) > 1e-3f;
  for (float b : bias) bias_not_zero |= std::fabs(b) > 1e-3f;
  EXPECT_TRUE(gain_not_one);
  EXPECT_TRUE(bias_not_zero);
}

TEST_F(CheckpointCli, MissingModelIndex) {
  fs::remove(path("model_index.json"));
  expect_info_fails({ckpt(), "no model_index.json"});
}

TEST_F(CheckpointCli, ModelIndexNotJson) {
  std::ofstream(path("model_index.json")) << "{ \"video_dit\": [";
  expect_info_fails({"model_index.json", "not valid JSON"});
}

TEST_F(CheckpointCli, BrokenTokenizerJson) {
  std::ofstream(path("tokenizer/tokenizer.json")) << R"({"model": {"type": "BPE"}})";
  expect_info_fails({"tokenizer/tokenizer.json", "only Unigram"});
}

TEST_F(CheckpointCli, NotAFolder) {
  const auto r = run_cli("info " + shell_quote(dir.file("nope")));
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.output.find("not a folder"), std::string::npos) << r.output;
}

TEST_F(CheckpointCli, MissingComponentFolder) {
  fs::remove_all(path("audio_vae"));
  expect_info_fails({"audio_vae", "absent"});
}

TEST_F(CheckpointCli, TruncatedSafetensors) {
  truncate_file("dual_tower_bridge/diffusion_pytorch_model.safetensors", 5000);
  expect_info_fails({"dual_tower_bridge/diffusion_pytorch_model.safetensors", "truncated"});
}

TEST_F(CheckpointCli, TinyFile) {
  truncate_file("audio_dit/diffusion_pytorch_model.safetensors", 3);
  expect_info_fails({"audio_dit/diffusion_pytorch_model.safetensors", "too small"});
}

TEST_F(CheckpointCli, HeaderLengthBeyondFile) {
  std::fstream f(path("video_vae/diffusion_pytorch_model.safetensors"),
                 std::ios::in | std::ios::out | std::ios::binary);
  const char big[8] = {0, 0, 0, 0x10, 0, 0, 0, 0};  // 256 MiB header claimed
  f.write(big, 8);
  f.close();
  expect_info_fails({"video_vae/diffusion_pytorch_model.safetensors", "header length"});
}

TEST_F(CheckpointCli, MissingShard) {
  fs::remove(path("video_dit/diffusion_pytorch_model-00002-of-00002.safetensors"));
  expect_info_fails({"diffusion_pytorch_model-00002-of-00002.safetensors", "missing"});
}

TEST_F(CheckpointCli, IndexNamesWrongShard) {
  edit_json("text_encoder/model.safetensors.index.json", [](nlohmann::json& j) {
    j["weight_map"]["encoder.final_layer_norm.weight"] = "model-00001-of-00002.safetensors";
  });
  expect_info_fails({"encoder.final_layer_norm.weight", "does not contain it"});
}

TEST_F(CheckpointCli, ConfigDisagreesWithTensors) {
  edit_json("video_dit_2/config.json", [](nlohmann::json& j) { j["ffn_dim"] = 256; });
  expect_info_fails(
      {"video_dit_2", "wrong shape", "blocks.0.ffn.0.weight", "[256, 64]", "[128, 64]"});
}

TEST_F(CheckpointCli, MoreLayersInConfigThanWeights) {
  edit_json("audio_dit/config.json", [](nlohmann::json& j) { j["num_layers"] = 4; });
  expect_info_fails({"audio_dit", "27 missing", "blocks.3.self_attn.q.weight"});
}

TEST_F(CheckpointCli, MissingTensor) {
  rewrite("dual_tower_bridge/diffusion_pytorch_model.safetensors",
          [](auto& m) { m.erase("video_to_audio_conditioners.1.inner.o.bias"); });
  expect_info_fails(
      {"dual_tower_bridge", "1 missing", "video_to_audio_conditioners.1.inner.o.bias"});
}

TEST_F(CheckpointCli, UnexpectedTensor) {
  rewrite("audio_vae/diffusion_pytorch_model.safetensors", [](auto& m) {
    m["quantizer.codebook.weight"] = Tensor::zeros({4, 4}, DType::kF32);
  });
  expect_info_fails({"audio_vae", "unexpected", "quantizer.codebook.weight"});
}

TEST_F(CheckpointCli, NonFloatTensor) {
  rewrite("audio_dit/diffusion_pytorch_model.safetensors", [](auto& m) {
    m["head.modulation"] = Tensor::zeros({1, 2, 32}, DType::kI64);
  });
  expect_info_fails({"audio_dit", "non-float", "head.modulation"});
}

TEST_F(CheckpointCli, UnknownDtypeInHeader) {
  // Same length as "BF16" so the header stays the same size: turn the first "BF16" into "BX16".
  std::fstream f(path("audio_dit/diffusion_pytorch_model.safetensors"),
                 std::ios::in | std::ios::out | std::ios::binary);
  std::string head(4096, '\0');
  f.read(head.data(), head.size());
  const size_t pos = head.find("\"BF16\"");
  ASSERT_NE(pos, std::string::npos);
  f.clear();
  f.seekp(static_cast<std::streamoff>(pos + 2));
  f.write("X", 1);
  f.close();
  expect_info_fails({"audio_dit/diffusion_pytorch_model.safetensors", "unknown dtype 'BX16'"});
}

TEST_F(CheckpointCli, ConfigFieldWrongType) {
  edit_json("video_vae/config.json", [](nlohmann::json& j) { j["z_dim"] = "sixteen"; });
  expect_info_fails({"video_vae/config.json", "'z_dim'", "integer"});
}

TEST_F(CheckpointCli, ConfigMissingRequiredField) {
  edit_json("audio_dit/config.json", [](nlohmann::json& j) { j.erase("num_heads"); });
  expect_info_fails({"audio_dit/config.json", "missing field 'num_heads'"});
}

TEST_F(CheckpointCli, UnreadableWeightsFile) {
  // A folder where the weights file should be (unreadable even for root).
  const std::string f = path("dual_tower_bridge/diffusion_pytorch_model.safetensors");
  fs::remove(f);
  fs::create_directory(f);
  expect_info_fails({"dual_tower_bridge", "no weights"});
}

TEST_F(CheckpointCli, ConfigNotJson) {
  std::ofstream(path("scheduler/scheduler_config.json")) << "shift = 5";
  expect_info_fails({"scheduler/scheduler_config.json", "not valid JSON"});
}

TEST_F(CheckpointCli, UsageErrors) {
  auto r = run_cli("info");
  EXPECT_EQ(r.exit_code, 2) << r.output;  // every usage error is 2
  EXPECT_NE(r.output.find("required"), std::string::npos) << r.output;
  r = run_cli("frobnicate");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = run_cli("generate --help");
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_NE(r.output.find("--negative-prompt"), std::string::npos) << r.output;
  r = run_cli("--version");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("mova.cpp"), std::string::npos);
}

}  // namespace
}  // namespace mova

namespace mova {
namespace {

TEST_F(CheckpointCli, ComponentsDisagree) {
  // Both files stay self-consistent; only the pair is wrong.
  edit_json("dual_tower_bridge/config.json", [](nlohmann::json& j) { j["audio_fps"] = 25.0; });
  expect_info_fails({"mismatch", "audio_fps 25", "sample_rate/hop 50"});
}

}  // namespace
}  // namespace mova
