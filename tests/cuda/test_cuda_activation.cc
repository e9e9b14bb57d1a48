// Activation kernels against the CPU kernels (runtime/cpu/activation.cc). F32: max-rel 1e-6
// (expf/tanhf against std::exp/std::tanh, a few ulp); BF16 storage: within one BF16 rounding
// of the CPU result on the same BF16 inputs (max-rel 8e-3).
#include <vector>

#include "cuda/cuda_test_util.h"
#include "runtime/cpu/kernels.h"
#include "runtime/cuda/kernels/activation.h"
#include "runtime/dtype.h"
#include "test_util.h"

namespace mova {
namespace {

struct Pair {
  cuda::Activation gpu;
  cpu::Unary cpu;
  const char* name;
};
const Pair kPairs[] = {{cuda::Activation::kSilu, cpu::Unary::kSilu, "silu"},
                       {cuda::Activation::kGeluTanh, cpu::Unary::kGeluTanh, "gelu_tanh"}};

TEST(CudaActivation, F32MatchesCpu) {
  MOVA_REQUIRE_GPU();
  const auto x = test::random_vector(100003, 3, -8.0f, 8.0f);  // odd size: a partial block
  for (const Pair& p : kPairs) {
    test::DeviceScratch d;
    void* dx = d.upload(x);
    void* dy = d.upload(std::vector<float>(x.size(), 0.0f));  // out of place (the backend's op)
    cuda::activation(p.gpu, dx, dy, DType::kF32, static_cast<int64_t>(x.size()));
    const auto got = d.download<float>(dy, x.size());
    EXPECT_EQ(d.download<float>(dx, x.size()), x) << p.name << ": its input changed";
    std::vector<float> ref(x.size());
    cpu::unary(p.cpu, x.data(), ref.data(), static_cast<int64_t>(x.size()), nullptr);
    EXPECT_LE(test::max_rel_error(got, ref), 1e-6) << p.name;
  }
}

TEST(CudaActivation, Bf16IsWithinOneRoundingOfCpu) {
  MOVA_REQUIRE_GPU();
  auto x = test::random_vector(4099, 4, -8.0f, 8.0f);
  const auto bits = test::round_to_bf16(x);
  for (const Pair& p : kPairs) {
    test::DeviceScratch d;
    void* dx = d.upload(bits);  // in place (the benchmark's BF16 block)
    cuda::activation(p.gpu, dx, dx, DType::kBF16, static_cast<int64_t>(x.size()));
    const auto got = test::from_bf16(d.download<uint16_t>(dx, x.size()));
    std::vector<float> ref(x.size());
    cpu::unary(p.cpu, x.data(), ref.data(), static_cast<int64_t>(x.size()), nullptr);
    EXPECT_LE(test::max_rel_error(got, ref), 8e-3) << p.name;
  }
}

}  // namespace
}  // namespace mova
