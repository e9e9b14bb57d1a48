#include "pipeline/noise.h"

#include <charconv>

#include "io/safetensors.h"
#include "runtime/error.h"
#include "runtime/random.h"

namespace mova {
namespace {

constexpr std::string_view kTorchCuda = "torch-cuda";

[[noreturn]] void bad_rng(std::string_view text, std::string_view option) {
  fail(ErrorKind::kInvalidArgument, option, ": unknown noise generator '", text,
       "' (expected torch-cuda, torch-cuda:SMS, torch-cuda:SMS:THREADS_PER_SM or mova)");
}

// A decimal count in [lo, hi], all of `text`.
int64_t parse_count(std::string_view text, int64_t lo, int64_t hi, std::string_view rng,
                    std::string_view option) {
  int64_t v = -1;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) bad_rng(rng, option);
  MOVA_CHECK(v >= lo && v <= hi, ErrorKind::kInvalidArgument, option, ": '", rng, "': ", v,
             " is not in [", lo, ", ", hi, "]");
  return v;
}

}  // namespace

NoiseRng parse_noise_rng(std::string_view text, std::string_view option) {
  NoiseRng rng;
  if (text == "mova") {
    rng.kind = NoiseRng::Kind::kMova;
    return rng;
  }
  if (text.substr(0, kTorchCuda.size()) != kTorchCuda) bad_rng(text, option);
  std::string_view rest = text.substr(kTorchCuda.size());
  if (rest.empty()) return rng;
  if (rest[0] != ':') bad_rng(text, option);
  rest.remove_prefix(1);
  const size_t colon = rest.find(':');
  rng.gpu.sm_count = parse_count(rest.substr(0, colon), 1, TorchCudaGpu::kMaxSms, text, option);
  if (colon != std::string_view::npos)
    rng.gpu.max_threads_per_sm = parse_count(rest.substr(colon + 1), TorchCudaGpu::kMinThreadsPerSm,
                                             TorchCudaGpu::kMaxThreadsPerSm, text, option);
  return rng;
}

std::string noise_rng_name(const NoiseRng& rng) {
  if (rng.kind == NoiseRng::Kind::kMova) return "mova";
  return std::string(kTorchCuda) + ":" + std::to_string(rng.gpu.sm_count) + ":" +
         std::to_string(rng.gpu.max_threads_per_sm);
}

Tensor seeded_noise(const Shape& shape, uint64_t seed, uint64_t stream) {
  Tensor t = Tensor::empty(shape, DType::kF32);
  SplitMix64 rng{seed * 0x2545f4914f6cdd1dull + (stream + 1) * 0x9e3779b97f4a7c15ull};
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<float>(rng.normal());
  return t;
}

NoisePair initial_noise(const NoiseRng& rng, uint64_t seed, const Shape& video_shape,
                        const Shape& audio_shape) {
  if (rng.kind == NoiseRng::Kind::kMova)
    return {seeded_noise(video_shape, seed, 0), seeded_noise(audio_shape, seed, 1)};
  TorchCudaRandn torch(seed, rng.gpu);
  Tensor video = torch.randn(video_shape);
  return {video, torch.randn(audio_shape)};
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
