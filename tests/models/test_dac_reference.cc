// The DAC audio VAE through `mova eval audio-decode/audio-encode` against the float64 PyTorch
// reference tools/reference/dac_reference.py on the tiny checkpoint (hop 960 like the
// published model). Metric: max|ours − ref| / max|ref| ≤ 1e-4 (measured ~5e-7 / ~1e-6).
#include <gtest/gtest.h>

#include <cmath>

#include "cli/cli_runner.h"
#include "io/safetensors.h"
#include "models/tiny_checkpoint.h"
#include "python_reference.h"
#include "test_util.h"

namespace mova {
namespace {

class DacReference : public ::testing::Test {
 protected:
  void SetUp() override { write_tiny_checkpoint(dir.file("m"), {}); }

  double compare(const std::string& stage, const std::string& in_name, const Tensor& input,
                 const std::string& out_name) {
    SafetensorsWriter in;
    in.add(in_name, input);
    in.write(dir.file("in.safetensors"));
    const std::string io = " --model " + dir.file("m") + " --in " + dir.file("in.safetensors");
    const auto r =
        test::run_cli("-q eval audio-" + stage + io + " --out " + dir.file("o.safetensors"));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_TRUE(test::run_reference("tools/reference/dac_reference.py",
                                    stage + io + " --out " + dir.file("r.safetensors")));
    const Tensor a = SafetensorsFile::open(dir.file("o.safetensors"))->tensor(out_name);
    const Tensor b = SafetensorsFile::open(dir.file("r.safetensors"))->tensor(out_name);
    const double rel = test::max_rel_error(a, b);
    std::printf("[ measure  ] audio-%s %s: max rel error %.3g\n", stage.c_str(),
                shape_str(input.shape()).c_str(), rel);
    return rel;
  }

  test::TempDir dir;
};

TEST_F(DacReference, DecodeOddLatentLengths) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  for (int64_t L : {1, 5, 7}) {
    const Tensor z = Tensor::from_vector({1, 8, L}, test::random_vector(8 * L, 20 + L, -2, 2));
    EXPECT_LE(compare("decode", "latents", z, "audio"), 1e-4) << "L=" << L;
  }
}

TEST_F(DacReference, EncodePadsToTheHop) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  for (int64_t N : {960, 3001}) {  // 3001 is not a multiple of the 960-sample hop
    auto v = test::random_vector(N, 30, -1, 1);
    for (int64_t i = 0; i < N; ++i) v[i] *= 0.5f + 0.5f * std::sin(i * 0.01f);
    const Tensor a = Tensor::from_vector({1, 1, N}, v);
    EXPECT_LE(compare("encode", "audio", a, "latents"), 1e-4) << "N=" << N;
  }
}

TEST_F(DacReference, MissingInputIsAnError) {
  const auto r = test::run_cli("eval audio-decode --model " + dir.file("m") + " --out " +
                               dir.file("x.safetensors"));
  EXPECT_EQ(r.exit_code, 2) << r.output;  // no --in: the latents input is missing
  EXPECT_NE(r.output.find("input tensor 'latents' is missing"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace mova
