// The audio VAE's weight-normalised convolutions may be stored three ways (legacy
// weight_g/weight_v, parametrizations.weight.original0/1, or folded `weight`); each must pass
// validation and decode to the same waveform.
#include <gtest/gtest.h>

#include <cmath>

#include "io/safetensors.h"
#include "models/checkpoint.h"
#include "models/dac.h"
#include "models/tiny_checkpoint.h"
#include "test_util.h"

namespace mova {
namespace {

const char* kFile = "/audio_vae/diffusion_pytorch_model.safetensors";

std::map<std::string, Tensor> load_all(const std::string& path) {
  std::map<std::string, Tensor> m;
  auto f = SafetensorsFile::open(path);
  for (const auto& t : f->tensors()) m[t.name] = f->tensor(t.name).to(DType::kF32).clone();
  return m;
}

void save_all(const std::string& path, const std::map<std::string, Tensor>& m) {
  SafetensorsWriter w;
  for (const auto& [n, t] : m) w.add(n, t);
  w.write(path);
}

Tensor decode(const std::string& dir) {
  const Checkpoint c = Checkpoint::open(dir);
  Exec ex(2);
  const DacVae vae(c.audio_vae_config(), c.weights(Component::kAudioVae));
  const Tensor z = Tensor::from_vector({1, 8, 3}, test::random_vector(24, 9, -1, 1));
  return vae.decode(ex, z);
}

TEST(DacStorage, AllThreeFormsDecodeAlike) {
  test::TempDir dir;
  const std::string base = dir.file("gv"), param = dir.file("param"), folded = dir.file("folded");
  for (const auto& d : {base, param, folded}) write_tiny_checkpoint(d, {});
  const auto gv = load_all(base + kFile);
  std::map<std::string, Tensor> p, f;
  for (const auto& [name, t] : gv) {
    const auto g_pos = name.rfind(".weight_g");
    const auto v_pos = name.rfind(".weight_v");
    if (g_pos != std::string::npos && g_pos + 9 == name.size()) {
      p[name.substr(0, g_pos) + ".parametrizations.weight.original0"] = t;
    } else if (v_pos != std::string::npos && v_pos + 9 == name.size()) {
      const std::string prefix = name.substr(0, v_pos);
      p[prefix + ".parametrizations.weight.original1"] = t;
      // Folded by hand in double: w = g · v / ‖v‖ per row of dim 0.
      const Tensor g = gv.at(prefix + ".weight_g");
      Tensor w = t.clone();
      const int64_t rows = w.size(0), per = w.numel() / rows;
      for (int64_t r = 0; r < rows; ++r) {
        double ss = 0;
        for (int64_t i = 0; i < per; ++i) ss += std::pow(w.data<float>()[r * per + i], 2);
        for (int64_t i = 0; i < per; ++i)
          w.data<float>()[r * per + i] *= static_cast<float>(g.data<float>()[r] / std::sqrt(ss));
      }
      f[prefix + ".weight"] = w;
    } else {
      p[name] = t;
      f[name] = t;
    }
  }
  save_all(param + kFile, p);
  save_all(folded + kFile, f);
  EXPECT_EQ(Checkpoint::open(param).audio_vae_config().conv_storage,
            DacConfig::ConvStorage::kParametrized);
  EXPECT_EQ(Checkpoint::open(folded).audio_vae_config().conv_storage,
            DacConfig::ConvStorage::kFolded);
  const auto ref = decode(base).to_vector();
  const auto a = decode(param).to_vector();
  const auto b = decode(folded).to_vector();
  ASSERT_EQ(ref.size(), a.size());
  ASSERT_EQ(ref.size(), b.size());
  for (size_t i = 0; i < ref.size(); ++i) {
    ASSERT_EQ(a[i], ref[i]) << i;
    ASSERT_NEAR(b[i], ref[i], 1e-5) << i;
  }
}

}  // namespace
}  // namespace mova
