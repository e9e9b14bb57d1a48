#include "pipeline/noise.h"

#include "io/safetensors.h"
#include "runtime/error.h"
#include "runtime/random.h"

namespace mova {

Tensor seeded_noise(const Shape& shape, uint64_t seed, uint64_t stream) {
  Tensor t = Tensor::empty(shape, DType::kF32);
  SplitMix64 rng{seed * 0x2545f4914f6cdd1dull + (stream + 1) * 0x9e3779b97f4a7c15ull};
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.normal());
  return t;
}

NoisePair load_noise(const std::string& path, const Shape& video_shape, const Shape& audio_shape) {
  const auto file = SafetensorsFile::open(path);
  auto get = [&](const std::string& name, const Shape& shape) {
    MOVA_CHECK(file->contains(name), ErrorKind::kFormat, path, ": has no tensor '", name, "'");
    Tensor t = file->tensor(name);
    MOVA_CHECK(t.shape() == shape, ErrorKind::kShape, path, ": tensor ", name, " has shape ",
               shape_str(t.shape()), ", this generation needs ", shape_str(shape));
    return t.to(DType::kF32).contiguous();
  };
  return {get("video_noise", video_shape), get("audio_noise", audio_shape)};
}

}  // namespace mova
