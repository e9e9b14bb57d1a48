#include "models/tiny_checkpoint.h"

#include <fcntl.h>
#include <sentencepiece_trainer.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <vector>

#include "io/atomic_file.h"
#include "io/safetensors.h"
#include "models/bridge_config.h"
#include "models/checkpoint.h"
#include "models/dac_config.h"
#include "models/scheduler_config.h"
#include "models/umt5_config.h"
#include "models/wan_dit_config.h"
#include "models/wan_vae_config.h"
#include "runtime/error.h"
#include "runtime/log.h"
#include "runtime/random.h"
#include "runtime/thread_pool.h"

namespace mova {
namespace fs = std::filesystem;
namespace {

using Rng = SplitMix64;

uint64_t hash_name(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

Tensor init_tensor(const TensorSpec& spec, uint64_t seed, const std::string& component) {
  Rng rng{hash_name(component + "/" + spec.name, seed)};
  Tensor t = Tensor::empty(spec.shape, DType::kF32);
  float* p = t.data<float>();
  const int64_t n = t.numel();
  int64_t fan_in = 1;
  for (size_t i = 1; i < spec.shape.size(); ++i) fan_in *= spec.shape[i];
  const double w_scale = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(fan_in, 1)));
  for (int64_t i = 0; i < n; ++i) {
    const double z = rng.normal();
    double v = 0;
    switch (spec.role) {
      case ParamRole::kWeight:
        v = z * w_scale;
        break;
      case ParamRole::kBias:
        v = 0.05 * z;
        break;
      case ParamRole::kNormGain:
        v = 1.0 + 0.1 * z;
        break;
      // Row norms below 1 keep random DAC activations O(1) through the residual stacks; at 1
      // they grow ~100x and fp32 itself (torch included) loses 1e-3 of the output.
      case ParamRole::kWeightNormGain:
        v = 0.7 * (1.0 + 0.1 * z);
        break;
      case ParamRole::kSnakeAlpha:
        v = std::exp(0.2 * z);
        break;
      case ParamRole::kEmbedding:
        v = z;
        break;
      case ParamRole::kTableValue:
        v = 0.2 * z;
        break;
    }
    p[i] = static_cast<float>(v);
  }
  return t;
}

void write_json(const fs::path& path, const nlohmann::json& j) {
  write_text_file(path.string(), j.dump(2) + "\n");
}

// Writes the layout's tensors into `folder` as `stem.safetensors`, or as `shards` files plus
// `stem.safetensors.index.json` (the transformers/diffusers sharded form).
void write_weights(const fs::path& folder, const std::string& stem, const TensorLayout& layout,
                   const TinyCheckpointOptions& opt, const std::string& component, int shards) {
  auto shard_name = [&](size_t s) {
    char name[128];
    if (shards > 1) {
      std::snprintf(name, sizeof name, "%s-%05zu-of-%05d.safetensors", stem.c_str(), s + 1, shards);
    } else {
      std::snprintf(name, sizeof name, "%s.safetensors", stem.c_str());
    }
    return std::string(name);
  };
  nlohmann::json weight_map = nlohmann::json::object();
  uint64_t total = 0;
  const auto& specs = layout.specs();
  // Shards hold consecutive tensors; each is written as soon as it is complete, so at most one
  // shard is in memory (the published-size presets are gigabytes). A shard's tensors are drawn
  // in parallel, each thread taking the next undrawn one: drawing the normals, not writing,
  // took the minutes (UMT5-XXL's 11 GB: 6 minutes on one thread). Each tensor has its own
  // seeded stream, so the bytes do not depend on the threads.
  ThreadPool pool;
  const auto shard_of = [&](size_t i) { return i * static_cast<size_t>(shards) / specs.size(); };
  for (size_t first = 0; first < specs.size();) {
    const size_t shard = shard_of(first);
    size_t end = first;
    while (end < specs.size() && shard_of(end) == shard) ++end;
    std::vector<Tensor> drawn(end - first);
    std::atomic<size_t> next{first};
    pool.parallel_for(pool.size(), 1, [&](int64_t, int64_t) {
      for (size_t i; (i = next++) < end;)
        drawn[i - first] = init_tensor(specs[i], opt.seed, component).to(opt.dtype);
    });
    SafetensorsWriter writer;
    for (size_t i = first; i < end; ++i) {
      total += drawn[i - first].nbytes();
      writer.add(specs[i].name, drawn[i - first]);
      if (shards > 1) weight_map[specs[i].name] = shard_name(shard);
    }
    drawn.clear();
    writer.set_metadata("format", "pt");
    writer.write((folder / shard_name(shard)).string());
    first = end;
  }
  if (shards > 1)
    write_json(folder / (stem + ".safetensors.index.json"),
               {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}});
}

// A small multilingual corpus for the test tokenizer: enough variety that prompts in English,
// accented Latin scripts, Chinese and emoji all tokenize into real pieces.
const char* const kCorpus[] = {
    "A red ball bounces on a wooden floor and makes a sharp knock each time it lands.",
    "A drummer strikes a snare drum three times while the crowd claps along.",
    "A woman smiles at the camera and says hello in a warm, clear voice.",
    "Rain falls on a tin roof at night; thunder rumbles far away.",
    "A small dog barks twice at a cat sitting on the garden wall.",
    "The violinist plays a slow melody in an empty concert hall.",
    "Waves crash against the rocks as seagulls cry overhead.",
    "A man knocks on the door, waits, and knocks again louder.",
    "An old clock ticks steadily and chimes at noon.",
    "Children laugh and splash in a swimming pool on a sunny afternoon.",
    "A chef chops onions quickly on a wooden cutting board.",
    "The train whistle blows as it pulls into the snowy station.",
    "Un chat noir traverse la rue pendant que la cloche de l'église sonne.",
    "Le garçon joue du piano et chante une chanson douce.",
    "Una niña toca la guitarra junto al fuego y canta en voz baja.",
    "El perro ladra cuando el cartero llega a la puerta.",
    "Der Hund bellt laut, während die Glocken läuten.",
    "Ein Mädchen spielt Flöte im grünen Wald.",
    "Uma mulher ri enquanto a chuva cai na janela.",
    "Ragazzi che ridono e corrono sulla spiaggia al tramonto.",
    "一个女孩在海边弹吉他，海浪拍打着岩石。",
    "一只小狗在草地上奔跑，并且大声地叫了两声。",
    "男人敲了三下门，然后说：你好。",
    // NOLINTNEXTLINE(bugprone-suspicious-missing-comma): one sentence split over two lines
    "色调艳丽，过曝，静态，细节模糊不清，字幕，风格，作品，画作，画面，静止，整体发灰，最差质量，低"
    "质量，"
    "JPEG压缩残留，丑陋的，残缺的，多余的手指",
    "雨夜里，钟声在远处响起，街道上几乎没有人。",
    "小鼓被敲击了四次，每一次都很清脆。",
    "猫が窓辺で鳴いている。",
    "아이들이 공원에서 노래를 부른다.",
    "Собака лает на почтальона у ворот.",
    "A ball 🏀 bounces, a bell 🔔 rings, and a cat 🐱 meows.",
    "Fireworks 🎆 explode over the city while people cheer 🎉.",
    "Numbers and symbols: 1, 2, 3, 42, 100%, $5, #hashtag, @user, (parentheses) [brackets].",
    "Close-up of a face: the mouth opens wide and says ba, ba, ba.",
    "A yellow light turns on and beeps, then turns off and falls silent.",
    "Slow motion footage of a glass falling onto a tiled floor and shattering.",
    "A jazz band plays in a smoky club; the saxophone takes a solo.",
};

// Unigram training is deterministic with one thread, whatever the seed.
void train_tokenizer(const fs::path& folder) {
  const fs::path corpus = folder / "corpus.txt.tmp";
  {
    std::ofstream out(corpus);
    for (int rep = 0; rep < 4; ++rep)
      for (const char* line : kCorpus) out << line << "\n";
  }
  const std::string prefix = (folder / "spiece").string();
  const std::string args =
      "--input=" + corpus.string() + " --model_prefix=" + prefix +
      " --vocab_size=600 --hard_vocab_limit=false --model_type=unigram --character_coverage=1.0"
      " --pad_id=0 --eos_id=1 --bos_id=2 --unk_id=3 --pad_piece=<pad> --eos_piece=</s>"
      " --bos_piece=<s> --unk_piece=<unk> --num_threads=1 --minloglevel=2";
  // The trainer logs its whole command line to stderr whatever minloglevel says; its result
  // comes back in `status`, so its chatter is muted for the call.
  std::fflush(stderr);
  const int saved_stderr = ::dup(2);
  const int devnull = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (saved_stderr >= 0 && devnull >= 0) ::dup2(devnull, 2);
  const auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (saved_stderr >= 0) {
    ::dup2(saved_stderr, 2);
    ::close(saved_stderr);
  }
  if (devnull >= 0) ::close(devnull);
  fs::remove(corpus);
  fs::remove(prefix + ".vocab");
  MOVA_CHECK(status.ok(), ErrorKind::kInternal,
             "training the tiny tokenizer failed: ", status.ToString());
  write_json(folder / "special_tokens_map.json",
             {{"eos_token", "</s>"}, {"pad_token", "<pad>"}, {"unk_token", "<unk>"}});
  write_json(folder / "tokenizer_config.json", {{"tokenizer_class", "T5Tokenizer"},
                                                {"model_max_length", 512},
                                                {"eos_token", "</s>"},
                                                {"pad_token", "<pad>"},
                                                {"unk_token", "<unk>"},
                                                {"extra_ids", 0},
                                                {"legacy", true}});
}

// The component configs of each preset: "tiny" first, then what a preset changes.
struct PresetConfigs {
  Umt5Config text;
  int text_shards = 2;
  WanDitConfig video, audio;
  DacConfig dac;
  BridgeConfig bridge;
  WanVaeConfig vae;
  nlohmann::json defaults;  // model_index.json "mova_cpp_defaults"
};

PresetConfigs preset_configs(const std::string& preset) {
  MOVA_CHECK(preset == "tiny" || preset == "mid" || preset == "nano" ||
                 preset == "published-vaes" || preset == "published-text" ||
                 preset == "published-layer",
             ErrorKind::kInvalidArgument, "unknown preset '", preset,
             "' (expected tiny, mid, nano, published-vaes, published-text or published-layer)");
  PresetConfigs c;
  // Text side. UMT5 ids: <pad> 0, </s> 1, <s> 2, <unk> 3; d_model is the DiTs' text_dim.
  c.text.vocab_size = 640;  // >= the trained sentencepiece vocabulary, like UMT5's padded table
  c.text.d_model = 48;
  c.text.d_kv = 12;
  c.text.num_heads = 4;
  c.text.d_ff = 96;
  c.text.num_layers = 2;

  c.video.dim = 64;
  c.video.in_dim = 36;
  c.video.ffn_dim = 128;
  c.video.out_dim = 16;
  c.video.freq_dim = 32;
  c.video.patch_size = {1, 2, 2};
  // head_dim 32 (tiny): RoPE split 12/10/10, like 44/42/42 at the published 128.
  c.video.num_heads = 2;
  c.video.num_layers = 4;

  c.dac.encoder_dim = 4;
  c.dac.encoder_rates = {2, 3, 4, 5, 8};
  c.dac.latent_dim = 8;
  c.dac.decoder_dim = 64;
  c.dac.decoder_rates = {8, 5, 4, 3, 2};
  c.dac.sample_rate = 48000;
  c.dac.continuous = true;

  c.audio.audio = true;
  c.audio.dim = 32;
  c.audio.ffn_dim = 64;
  c.audio.freq_dim = 32;
  c.audio.patch_size = {1};
  c.audio.num_heads = 2;
  c.audio.num_layers = 3;
  c.audio.vae_type = "dac";

  c.bridge.head_dim = 16;
  c.bridge.interaction_strategy = "full";
  c.bridge.apply_cross_rope = true;

  c.vae.base_dim = 8;
  c.vae.z_dim = 16;
  // Random weights make noise whatever the size; small defaults keep `mova generate` quick.
  c.defaults = {{"width", 128}, {"height", 96}, {"frames", 25}, {"steps", 10}};

  if (preset == "mid") {  // head_dim 128 like the published DiTs, for benchmarks
    c.text.d_model = 256;
    c.text.d_kv = 64;
    c.text.d_ff = 512;
    c.video.dim = 512;
    c.video.ffn_dim = 1536;
    c.video.num_heads = 4;
    c.video.num_layers = 8;
    c.audio.dim = 256;
    c.audio.ffn_dim = 768;
    c.audio.num_layers = 6;
    c.bridge.head_dim = 128;
  } else if (preset == "nano") {
    // The bundled nano model's architecture (tools/nano): 64x64 video, 16 kHz audio whose
    // latent rate (hop 320) keeps the published 50 steps per second.
    c.text.d_model = 128;
    c.text.d_kv = 32;
    c.text.d_ff = 256;
    c.video.dim = c.audio.dim = 256;
    c.video.ffn_dim = c.audio.ffn_dim = 768;
    // head_dim 128 as published (64 would not split into even t/h/w RoPE thirds).
    c.video.num_heads = c.audio.num_heads = 2;
    c.video.num_layers = c.audio.num_layers = 4;
    c.video.freq_dim = c.audio.freq_dim = 64;
    c.bridge.head_dim = 128;
    c.dac.encoder_dim = 8;
    c.dac.encoder_rates = {2, 4, 5, 8};
    c.dac.latent_dim = 16;
    c.dac.decoder_dim = 96;
    c.dac.decoder_rates = {8, 5, 4, 2};
    c.dac.sample_rate = 16000;
    c.vae.base_dim = 16;
    c.vae.num_res_blocks = 1;
    // 40 steps: the trained denoiser (step 37000) recalled 0.79 of the held-out events at 20
    // steps, 0.86 at 40 and 0.82 at 60 (tools/nano/TRAINING.md, session 8); lights gained most.
    c.defaults = {{"width", 64}, {"height", 64}, {"frames", 49}, {"steps", 40}};
  } else if (preset == "published-vaes") {  // Wan2.1 VAE 127M parameters, DAC 372M
    c.dac.encoder_dim = 128;
    c.dac.latent_dim = 128;
    c.dac.decoder_dim = 2048;
    c.vae.base_dim = 96;
  } else if (preset == "published-layer") {
    // The published DiTs' and bridge's widths with one layer per tower (a real-size joint step
    // costs about 40 of these; the VAEs and text encoder stay tiny): GPU benchmarks, 2 GB.
    c.text.d_model = 4096;
    c.video.dim = 5120;
    c.video.ffn_dim = 13824;
    c.video.num_heads = 40;
    c.video.freq_dim = 256;
    c.video.num_layers = 1;
    c.audio.dim = 1536;
    c.audio.ffn_dim = 6144;
    c.audio.num_heads = 12;
    c.audio.freq_dim = 256;
    c.audio.num_layers = 1;
    c.dac.latent_dim = 128;
    c.bridge.head_dim = 128;
  } else if (preset == "published-text") {  // UMT5-XXL as published (5.68B parameters)
    c.text.vocab_size = 256384;
    c.text.d_model = 4096;
    c.text.d_kv = 64;
    c.text.num_heads = 64;
    c.text.d_ff = 10240;
    c.text.num_layers = 24;
    c.text_shards = 12;
  }
  // What follows from the choices above.
  c.video.text_dim = c.audio.text_dim = c.text.d_model;
  c.audio.in_dim = c.audio.out_dim = c.dac.latent_channels();
  c.bridge.visual_layers = c.video.num_layers;
  c.bridge.audio_layers = c.audio.num_layers;
  c.bridge.visual_hidden_dim = c.video.dim;
  c.bridge.audio_hidden_dim = c.audio.dim;
  c.bridge.audio_fps = static_cast<double>(c.dac.sample_rate) / c.dac.hop_length();
  return c;
}

}  // namespace

void write_tiny_checkpoint(const std::string& dir, const TinyCheckpointOptions& opt) {
  PresetConfigs c = preset_configs(opt.preset);
  MOVA_CHECK(opt.dtype == DType::kF32 || opt.dtype == DType::kBF16 || opt.dtype == DType::kF16,
             ErrorKind::kInvalidArgument, "tiny checkpoint dtype must be F32, BF16 or F16");
  const fs::path root(dir);
  std::error_code ec;
  fs::create_directories(root, ec);
  MOVA_CHECK(!ec, ErrorKind::kIo, dir, ": cannot create folder: ", ec.message());
  for (const auto& d : all_components()) fs::create_directories(root / d.folder);

  train_tokenizer(root / "tokenizer");
  write_json(root / "text_encoder/config.json", c.text.to_json());
  write_weights(root / "text_encoder", "model", c.text.layout(), opt, "text_encoder",
                c.text_shards);
  for (const char* expert : {"video_dit", "video_dit_2"}) {
    write_json(root / expert / "config.json", c.video.to_json());
    write_weights(root / expert, "diffusion_pytorch_model", c.video.layout(), opt, expert, 2);
  }
  write_json(root / "audio_vae/config.json", c.dac.to_json());
  write_weights(root / "audio_vae", "diffusion_pytorch_model", c.dac.layout(), opt, "audio_vae", 1);
  write_json(root / "audio_dit/config.json", c.audio.to_json());
  write_weights(root / "audio_dit", "diffusion_pytorch_model", c.audio.layout(), opt, "audio_dit",
                1);
  write_json(root / "dual_tower_bridge/config.json", c.bridge.to_json());
  write_weights(root / "dual_tower_bridge", "diffusion_pytorch_model", c.bridge.layout(), opt,
                "dual_tower_bridge", 1);

  Rng rng{hash_name("video_vae/latents", opt.seed)};
  for (int i = 0; i < c.vae.z_dim; ++i) {
    c.vae.latents_mean.push_back(std::round(rng.normal() * 0.5 * 1e4) / 1e4);
    c.vae.latents_std.push_back(std::round((1.0 + 2.0 * rng.uniform()) * 1e4) / 1e4);
  }
  write_json(root / "video_vae/config.json", c.vae.to_json());
  write_weights(root / "video_vae", "diffusion_pytorch_model", c.vae.layout(), opt, "video_vae", 1);

  SchedulerConfig sched;
  sched.shift = 5.0;
  sched.extra_one_step = true;
  write_json(root / "scheduler/scheduler_config.json", sched.to_json());

  nlohmann::json index = ModelIndex::published_json(0.9);
  index["mova_cpp_defaults"] = c.defaults;
  write_json(root / "model_index.json", index);
  MOVA_LOG_INFO("wrote ", opt.preset, " MOVA checkpoint to ", dir, " (seed ", opt.seed, ")");
}

}  // namespace mova
