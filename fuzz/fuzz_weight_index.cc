// Feeds arbitrary text as a sharded component's `diffusion_pytorch_model.safetensors.index.json`
// (a checkpoint file a user downloads) beside two real shards, and opens the folder as the
// engine does. Any input must open or throw mova::Error; a weight_map naming a file outside
// the folder must never be opened.
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include <unistd.h>

#include "io/safetensors.h"
#include "io/weight_set.h"
#include "runtime/error.h"
#include "runtime/tensor.h"

namespace {

namespace fs = std::filesystem;

// A folder with two small shards, made once per fuzzing process and removed at its exit.
struct ShardFolder {
  fs::path dir = fs::temp_directory_path() /
                 ("mova_fuzz_weight_index_" + std::to_string(static_cast<long>(::getpid())));
  ShardFolder() {
    fs::create_directories(dir);
    for (int shard = 1; shard <= 2; ++shard) {
      mova::SafetensorsWriter w;
      w.add("blocks." + std::to_string(shard) + ".weight",
            mova::Tensor::from_vector({2, 2}, {1.0f, 2.0f, 3.0f, 4.0f}));
      w.write(
          (dir / ("diffusion_pytorch_model-0000" + std::to_string(shard) + "-of-00002.safetensors"))
              .string());
    }
  }
  ~ShardFolder() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

const fs::path& folder() {
  static const ShardFolder shards;
  return shards.dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const fs::path& dir = folder();
  {
    std::ofstream index(dir / "diffusion_pytorch_model.safetensors.index.json",
                        std::ios::binary | std::ios::trunc);
    index.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    const mova::WeightSet w = mova::WeightSet::open_folder(dir.string());
    for (const auto& name : w.names()) (void)w.get(name);  // every mapped tensor is readable
  } catch (const mova::Error&) {
  }
  return 0;
}
