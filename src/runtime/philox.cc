#include "runtime/philox.h"

namespace mova {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53u;
constexpr uint32_t kMul1 = 0xCD9E8D57u;
constexpr uint32_t kWeyl0 = 0x9E3779B9u;
constexpr uint32_t kWeyl1 = 0xBB67AE85u;

PhiloxWords round(const PhiloxWords& c, const std::array<uint32_t, 2>& k) {
  const uint64_t p0 = uint64_t{kMul0} * c[0];
  const uint64_t p1 = uint64_t{kMul1} * c[2];
  return {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
          static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
}

}  // namespace

PhiloxWords philox4x32_10(PhiloxWords counter, std::array<uint32_t, 2> key) {
  for (int r = 0; r < 10; ++r) {
    if (r > 0) {
      key[0] += kWeyl0;
      key[1] += kWeyl1;
    }
    counter = round(counter, key);
  }
  return counter;
}

PhiloxStream::PhiloxStream(uint64_t seed, uint64_t subsequence, uint64_t offset)
    : counter_{0, 0, static_cast<uint32_t>(subsequence), static_cast<uint32_t>(subsequence >> 32)},
      key_{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)},
      word_(static_cast<uint32_t>(offset & 3)) {
  advance(offset / 4);
}

// Adds `blocks` to the counter's low half, carrying into the high half as cuRAND does.
void PhiloxStream::advance(uint64_t blocks) {
  const uint64_t lo = uint64_t{counter_[1]} << 32 | counter_[0];
  const uint64_t sum = lo + blocks;
  counter_[0] = static_cast<uint32_t>(sum);
  counter_[1] = static_cast<uint32_t>(sum >> 32);
  if (sum < lo && ++counter_[2] == 0) ++counter_[3];
  block_ = philox4x32_10(counter_, key_);
}

PhiloxWords PhiloxStream::next4() {
  const PhiloxWords first = block_;
  advance(1);
  PhiloxWords out{};
  for (uint32_t i = 0; i < 4; ++i)
    out[i] = word_ + i < 4 ? first[word_ + i] : block_[word_ + i - 4];
  return out;
}

}  // namespace mova
