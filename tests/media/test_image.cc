// Image input against PIL (Debian's python3-pil), bit for bit: upstream prepares the first
// frame with PIL, and one level of difference in a pixel changes the image latent.
#include <gtest/gtest.h>

#include <array>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/atomic_file.h"
#include "media/image_io.h"
#include "media/resize.h"
#include "python_reference.h"
#include "test_util.h"

namespace mova {
namespace {

using test::TempDir;

constexpr const char* kScript = "tools/reference/pil_image_reference.py";

void run_jobs(const TempDir& dir, const nlohmann::json& jobs) {
  write_text_file(dir.file("jobs.json"), jobs.dump());
  const auto out = test::run_reference(kScript, dir.file("jobs.json"));
  ASSERT_TRUE(out.has_value());
  ASSERT_EQ((*out)["jobs"].get<size_t>(), jobs.size());
}

// Counts differing bytes; prints the first difference.
int64_t differing(const RgbImage& got, const RgbImage& want, const std::string& what) {
  EXPECT_EQ(got.width, want.width) << what;
  EXPECT_EQ(got.height, want.height) << what;
  if (got.pixels.size() != want.pixels.size()) return -1;
  int64_t n = 0;
  for (size_t i = 0; i < got.pixels.size(); ++i)
    if (got.pixels[i] != want.pixels[i] && n++ == 0)
      ADD_FAILURE() << what << ": first difference at byte " << i << ": " << int(got.pixels[i])
                    << " vs PIL " << int(want.pixels[i]);
  return n;
}

TEST(ImageInput, DecodesLikePilConvertRgb) {
  MOVA_REQUIRE_PYTHON_MODULE("PIL");
  TempDir dir;
  const char* kinds[] = {"png-rgb",    "png-rgba", "png-palette",      "png-gray", "png-la",
                         "png-gray16", "jpeg",     "jpeg-progressive", "jpeg-gray"};
  nlohmann::json jobs = nlohmann::json::array();
  int seed = 0;
  for (const char* k : kinds) {
    const std::string src = dir.file(std::string(k) + ".src");
    jobs.push_back(
        {{"op", "make"}, {"kind", k}, {"out", src}, {"w", 37}, {"h", 29}, {"seed", seed++}});
    jobs.push_back({{"op", "decode"}, {"in", src}, {"out", dir.file(std::string(k) + ".pil.png")}});
  }
  run_jobs(dir, jobs);
  for (const char* k : kinds) {
    const RgbImage ours = read_image(dir.file(std::string(k) + ".src"));
    const RgbImage pil = read_image(dir.file(std::string(k) + ".pil.png"));
    EXPECT_EQ(differing(ours, pil, k), 0);
  }
}

TEST(ImageInput, BicubicResizeMatchesPilBitForBit) {
  MOVA_REQUIRE_PYTHON_MODULE("PIL");
  TempDir dir;
  struct Case {
    int sw, sh, w, h;
    std::vector<double> box;
  };
  // Downscale (antialiased, wide kernels), upscale, one axis only, odd ratios, and boxes.
  const std::vector<Case> cases = {
      {200, 150, 64, 48, {}},
      {97, 61, 640, 352, {}},
      {120, 90, 120, 45, {}},
      {120, 90, 33, 90, {}},
      {333, 211, 100, 77, {}},
      {64, 64, 64, 64, {}},
      {300, 200, 128, 96, {10.5, 3.25, 290, 190}},
      {150, 100, 80, 80, {25, 0, 125, 100}},
  };
  nlohmann::json jobs = nlohmann::json::array();
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const std::string src = dir.file("src" + std::to_string(i) + ".png");
    jobs.push_back({{"op", "make"},
                    {"kind", "png-rgb"},
                    {"out", src},
                    {"w", c.sw},
                    {"h", c.sh},
                    {"seed", 100 + i}});
    nlohmann::json r = {{"op", "resize"},
                        {"in", src},
                        {"out", dir.file("pil" + std::to_string(i) + ".png")},
                        {"w", c.w},
                        {"h", c.h}};
    if (!c.box.empty()) r["box"] = c.box;
    jobs.push_back(r);
  }
  run_jobs(dir, jobs);
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    ResizeBox box;
    if (!c.box.empty()) box = {c.box[0], c.box[1], c.box[2], c.box[3]};
    const RgbImage src = read_image(dir.file("src" + std::to_string(i) + ".png"));
    const RgbImage ours = resize_bicubic(src, c.w, c.h, box);
    const RgbImage pil = read_image(dir.file("pil" + std::to_string(i) + ".png"));
    EXPECT_EQ(differing(ours, pil, "case " + std::to_string(i)), 0);
  }
}

TEST(ImageInput, CropAndResizeMatchesUpstreamBitForBit) {
  MOVA_REQUIRE_PYTHON_MODULE("PIL");
  TempDir dir;
  // Wider and taller sources than the target, equal aspect, exact size, and odd sizes whose
  // crop sizes truncate.
  const std::vector<std::array<int, 4>> cases = {
      {1920, 1080, 640, 352}, {1080, 1920, 640, 352}, {1280, 704, 640, 352}, {640, 352, 640, 352},
      {333, 517, 128, 96},    {517, 333, 96, 128},    {101, 67, 1280, 720}};
  nlohmann::json jobs = nlohmann::json::array();
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const std::string src = dir.file("c" + std::to_string(i) + ".png");
    jobs.push_back({{"op", "make"},
                    {"kind", "png-rgb"},
                    {"out", src},
                    {"w", c[0]},
                    {"h", c[1]},
                    {"seed", 300 + i}});
    jobs.push_back({{"op", "crop_and_resize"},
                    {"in", src},
                    {"out", dir.file("u" + std::to_string(i) + ".png")},
                    {"w", c[2]},
                    {"h", c[3]}});
  }
  run_jobs(dir, jobs);
  for (size_t i = 0; i < cases.size(); ++i) {
    const RgbImage src = read_image(dir.file("c" + std::to_string(i) + ".png"));
    const RgbImage ours = crop_and_resize(src, cases[i][2], cases[i][3]);
    const RgbImage want = read_image(dir.file("u" + std::to_string(i) + ".png"));
    EXPECT_EQ(differing(ours, want, "crop_and_resize case " + std::to_string(i)), 0);
  }
}

TEST(ImageInput, ToTensorScalesToMinusOneOne) {
  RgbImage img(2, 1);
  img.pixels = {0, 255, 128, 51, 1, 254};
  const Tensor t = image_to_tensor(img);
  ASSERT_EQ(t.shape(), (Shape{1, 3, 1, 2}));
  // Channel-major: R of both pixels, then G, then B.
  EXPECT_FLOAT_EQ(t.item_f32({0, 0, 0, 0}), -1.0f);
  EXPECT_FLOAT_EQ(t.item_f32({0, 0, 0, 1}), 2.0f * (51.0f / 255.0f) - 1.0f);
  EXPECT_FLOAT_EQ(t.item_f32({0, 1, 0, 0}), 1.0f);
  EXPECT_FLOAT_EQ(t.item_f32({0, 2, 0, 0}), 2.0f * (128.0f / 255.0f) - 1.0f);
}

TEST(ImageInput, BadFilesGiveErrorsNamingTheFile) {
  TempDir dir;
  write_text_file(dir.file("text.png"), "this is not an image");
  test::expect_error([&] { read_image(dir.file("text.png")); }, {"text.png", "not a PNG or JPEG"});
  test::expect_error([&] { read_image(dir.file("missing.png")); }, {"missing.png"});
  // A valid PNG cut short, and a JPEG with only its first bytes.
  RgbImage img(16, 16);
  write_png(dir.file("ok.png"), img);
  std::string bytes = read_text_file(dir.file("ok.png"));
  write_text_file(dir.file("cut.png"), bytes.substr(0, bytes.size() / 2));
  test::expect_error([&] { read_image(dir.file("cut.png")); }, {"cut.png", "cannot decode PNG"});
  write_text_file(dir.file("cut.jpg"), std::string("\xff\xd8\xff\xe0\x00\x10JFIF", 10));
  test::expect_error([&] { read_image(dir.file("cut.jpg")); }, {"cut.jpg", "cannot decode JPEG"});
}

TEST(ImageInput, PngRoundTrip) {
  TempDir dir;
  RgbImage img(7, 5);
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(i * 37);
  write_png(dir.file("a.png"), img);
  EXPECT_EQ(read_image(dir.file("a.png")).pixels, img.pixels);
}

}  // namespace
}  // namespace mova
