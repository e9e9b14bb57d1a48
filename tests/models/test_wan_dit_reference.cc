// One DiT tower (video experts and audio DiT) through `mova eval dit-forward` against the
// float64 PyTorch reference tools/reference/wan_dit_reference.py on the tiny checkpoint.
// Metric: max|ours − ref| / max|ref| ≤ 1e-4 (fp32 budget; measured ~3e-7).
#include <gtest/gtest.h>

#include "cli/cli_runner.h"
#include "io/safetensors.h"
#include "models/tiny_checkpoint.h"
#include "python_reference.h"
#include "test_util.h"

namespace mova {
namespace {

class DitReference : public ::testing::Test {
 protected:
  void SetUp() override { write_tiny_checkpoint(dir.file("m"), {}); }

  void compare(const std::string& component, const Shape& x_shape, int64_t text_len, float t) {
    SafetensorsWriter in;
    in.add("x", Tensor::from_vector(x_shape, test::random_vector(shape_numel(x_shape), 1, -2, 2)));
    in.add("timestep", Tensor::from_vector({1}, {t}));
    // Rows past the "real" prompt are zero, as the pipeline pads them: they are still attended.
    auto ctx = test::random_vector(text_len * 48, 2, -1, 1);
    std::fill(ctx.begin() + (text_len / 2) * 48, ctx.end(), 0.0f);
    in.add("context", Tensor::from_vector({1, text_len, 48}, ctx));
    in.write(dir.file("in.safetensors"));
    const std::string common = " --in " + dir.file("in.safetensors");
    const auto r = test::run_cli("eval dit-forward --model " + dir.file("m") + common + " --out " +
                                 dir.file("ours.safetensors") + " --set component=" + component);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    ASSERT_TRUE(test::run_reference("tools/reference/wan_dit_reference.py",
                                    "--model " + dir.file("m") + " --component " + component +
                                        common + " --out " + dir.file("ref.safetensors")));
    const Tensor ours = SafetensorsFile::open(dir.file("ours.safetensors"))->tensor("velocity");
    const Tensor ref = SafetensorsFile::open(dir.file("ref.safetensors"))->tensor("velocity");
    const double err = test::max_rel_error(ours, ref);
    EXPECT_LE(err, 1e-4) << component;
    std::printf("[ measure  ] %s %s: max rel error %.3g\n", component.c_str(),
                shape_str(x_shape).c_str(), err);
  }

  test::TempDir dir;
};

TEST_F(DitReference, VideoExperts) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  compare("video_dit", {1, 36, 3, 4, 6}, 9, 999.0f);
  compare("video_dit_2", {1, 36, 2, 6, 4}, 5, 321.5f);
}

TEST_F(DitReference, AudioDit) {
  MOVA_REQUIRE_REFERENCE_PYTHON();
  compare("audio_dit", {1, 8, 13}, 7, 640.0f);
  compare("audio_dit", {1, 8, 1}, 12, 3.0f);
}

TEST_F(DitReference, RejectsBadInputs) {
  SafetensorsWriter in;
  in.add("x", Tensor::zeros({1, 35, 1, 2, 2}, DType::kF32));  // 35 != in_dim 36
  in.add("timestep", Tensor::zeros({1}, DType::kF32));
  in.add("context", Tensor::zeros({1, 4, 48}, DType::kF32));
  in.write(dir.file("bad.safetensors"));
  auto r = test::run_cli("eval dit-forward --model " + dir.file("m") + " --in " +
                         dir.file("bad.safetensors") + " --out " + dir.file("o.safetensors"));
  EXPECT_EQ(r.exit_code, 5) << r.output;
  EXPECT_NE(
      r.output.find("input tensor 'x' has shape [1, 35, 1, 2, 2], expected [1, 36, -1, -1, -1]"),
      std::string::npos)
      << r.output;
  r = test::run_cli("eval dit-forward --model " + dir.file("m") + " --in " +
                    dir.file("bad.safetensors") + " --out " + dir.file("o.safetensors") +
                    " --set component=bridge");
  EXPECT_EQ(r.exit_code, 2) << r.output;
}

}  // namespace
}  // namespace mova
