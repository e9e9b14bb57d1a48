#include "media/wav_writer.h"

#include <cstdint>
#include <cstring>
#include <limits>

#include "io/atomic_file.h"
#include "runtime/error.h"

namespace mova {
namespace {

void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}

}  // namespace

void write_wav(const std::string& path, const std::vector<float>& samples, int sample_rate) {
  MOVA_CHECK(sample_rate > 0, ErrorKind::kInvalidArgument, path, ": sample rate must be positive");
  const uint64_t data_bytes = samples.size() * sizeof(float);
  MOVA_CHECK(data_bytes + 64 < std::numeric_limits<uint32_t>::max(), ErrorKind::kInvalidArgument,
             path, ": too much audio for a WAV file");
  std::string h;
  h += "RIFF";
  put_u32(h, static_cast<uint32_t>(4 + 26 + 12 + 8 + data_bytes));
  h += "WAVE";
  h += "fmt ";
  put_u32(h, 18);
  put_u16(h, 3);  // WAVE_FORMAT_IEEE_FLOAT
  put_u16(h, 1);  // mono
  put_u32(h, static_cast<uint32_t>(sample_rate));
  put_u32(h, static_cast<uint32_t>(sample_rate) * 4);
  put_u16(h, 4);
  put_u16(h, 32);
  put_u16(h, 0);  // cbSize
  h += "fact";    // required for non-PCM formats
  put_u32(h, 4);
  put_u32(h, static_cast<uint32_t>(samples.size()));
  h += "data";
  put_u32(h, static_cast<uint32_t>(data_bytes));
  AtomicFile file(path);
  file.write(h);
  file.write(samples.data(), data_bytes);  // little-endian hosts only (x86-64, aarch64)
  file.commit();
}

}  // namespace mova
