// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), with
// the stream layout cuRAND gives it: a 128-bit counter whose high 64 bits select the
// subsequence and whose low 64 bits count 4-word blocks within it. PyTorch's CUDA generator
// draws every random number this way, so upstream's `torch.randn(..., device="cuda")` can be
// restated on the host (pipeline/torch_randn.h).
#pragma once

#include <array>
#include <cstdint>

namespace mova {

using PhiloxWords = std::array<uint32_t, 4>;

// One block: 10 rounds of the bijection keyed by `key` (the Weyl-bumped key per round).
PhiloxWords philox4x32_10(PhiloxWords counter, std::array<uint32_t, 2> key);

// cuRAND's curandStatePhilox4_32_10_t as curand_init(seed, subsequence, offset) leaves it:
// `next4()` returns the next four 32-bit words of the stream, `offset` words in (an offset
// that is not a multiple of 4 starts inside a block).
class PhiloxStream {
 public:
  PhiloxStream(uint64_t seed, uint64_t subsequence, uint64_t offset);
  PhiloxWords next4();

 private:
  void advance(uint64_t blocks);

  PhiloxWords counter_{};
  std::array<uint32_t, 2> key_{};
  PhiloxWords block_{};  // philox4x32_10(counter_)
  uint32_t word_ = 0;    // the first unused word of block_
};

}  // namespace mova
