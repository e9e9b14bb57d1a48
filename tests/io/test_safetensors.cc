// The safetensors reader against hand-built files, valid and malformed. Every malformed case
// must fail with a format/I-O error that names the file and the problem, never crash.
#include <gtest/gtest.h>

#include <fstream>

#include "io/safetensors.h"
#include "io/weight_set.h"
#include "test_util.h"

namespace mova {
namespace {

// Writes [u64 header length][header][data] to `path`.
void write_raw(const std::string& path, const std::string& header, const std::string& data,
               int64_t length_override = -1) {
  std::ofstream out(path, std::ios::binary);
  uint64_t n = length_override >= 0 ? static_cast<uint64_t>(length_override) : header.size();
  for (int i = 0; i < 8; ++i) out.put(static_cast<char>(n >> (8 * i)));
  out << header << data;
}

class Safetensors : public ::testing::Test {
 protected:
  test::TempDir dir;
  std::string path = dir.file("w.safetensors");

  void expect_bad(const std::string& header, const std::string& data,
                  std::initializer_list<std::string> parts, int64_t length_override = -1) {
    write_raw(path, header, data, length_override);
    test::expect_error([&] { SafetensorsFile::open(path); }, parts);
  }
};

TEST_F(Safetensors, WriterReaderRoundTrip) {
  SafetensorsWriter w;
  Tensor a = Tensor::from_vector({2, 3}, {1, 2, 3, 4, 5, 6});
  w.add("b.weight", a.to(DType::kBF16));
  w.add("a.bias", Tensor::from_vector({3}, {7, 8, 9}));
  w.add("empty", Tensor::zeros({0, 4}, DType::kF32));
  w.set_metadata("format", "pt");
  w.write(path);
  auto f = SafetensorsFile::open(path);
  ASSERT_EQ(f->tensors().size(), 3u);
  EXPECT_EQ(f->tensors()[0].name, "a.bias");  // sorted by name
  EXPECT_EQ(f->metadata().at("format"), "pt");
  Tensor b = f->tensor("b.weight");
  EXPECT_EQ(b.dtype(), DType::kBF16);
  EXPECT_EQ(b.shape(), (Shape{2, 3}));
  EXPECT_EQ(b.name(), "b.weight");
  EXPECT_EQ(b.to_vector(), a.to_vector());
  EXPECT_EQ(f->tensor("a.bias").item_f32({2}), 9.0f);
  EXPECT_EQ(f->tensor("empty").numel(), 0);
  test::expect_error([&] { f->tensor("nope"); }, {path, "nope"});
  // No temporary file left behind.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.str())) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
}

TEST_F(Safetensors, TensorOutlivesFileObject) {
  SafetensorsWriter w;
  w.add("x", Tensor::full({1000}, 3.0f));
  w.write(path);
  Tensor t = SafetensorsFile::open(path)->tensor("x");
  EXPECT_EQ(t.item_f32({999}), 3.0f);  // the mapping is kept alive by the tensor
}

TEST_F(Safetensors, MisalignedDataIsCopied) {
  // Header of odd length: the F32 data starts at an unaligned address.
  const std::string h = R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  ASSERT_NE((h.size() + 8) % 4, 0u);
  float v = 1.5f;
  write_raw(path, h, std::string(reinterpret_cast<char*>(&v), 4));
  EXPECT_EQ(SafetensorsFile::open(path)->tensor("x").item_f32({0}), 1.5f);
}

TEST_F(Safetensors, FileTooSmall) {
  std::ofstream(path, std::ios::binary) << "abc";
  test::expect_error([&] { SafetensorsFile::open(path); }, {path, "too small"});
}

TEST_F(Safetensors, EmptyFile) {
  std::ofstream(path, std::ios::binary).close();
  test::expect_error([&] { SafetensorsFile::open(path); }, {path, "too small"});
}

TEST_F(Safetensors, HeaderLengthBeyondFile) {
  expect_bad("{}", "", {path, "runs past the end"}, 4096);
}

TEST_F(Safetensors, HeaderLengthAbsurd) {
  expect_bad("{}", "", {path, "exceeds"}, int64_t{1} << 40);
}

TEST_F(Safetensors, InvalidJson) {
  expect_bad("{\"x\": [1, 2", "", {path, "not valid JSON"});
}

TEST_F(Safetensors, HeaderNotObject) {
  expect_bad("[1,2,3]", "", {path, "not a JSON object"});
}

TEST_F(Safetensors, UnknownDtype) {
  expect_bad(R"({"x":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}})", "abcd",
             {path, "'x'", "unknown dtype 'F31'"});
}

TEST_F(Safetensors, ShapeSizeMismatch) {
  expect_bad(R"({"x":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", std::string(12, 0),
             {path, "'x'", "needs 16 bytes"});
}

TEST_F(Safetensors, OffsetsOutOfRange) {
  expect_bad(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", std::string(4, 0),
             {path, "'x'", "run past the data section"});
}

TEST_F(Safetensors, OverlappingOffsets) {
  expect_bad(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
             std::string(12, 0), {path, "overlap"});
}

TEST_F(Safetensors, GapBetweenTensors) {
  expect_bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
             std::string(12, 0), {path, "gap", "'b'"});
}

TEST_F(Safetensors, TrailingBytes) {
  expect_bad(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", std::string(9, 0),
             {path, "5 bytes after the last tensor"});
}

TEST_F(Safetensors, ReversedOffsets) {
  expect_bad(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", std::string(4, 0),
             {path, "reversed"});
}

TEST_F(Safetensors, NegativeDimension) {
  expect_bad(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", std::string(4, 0),
             {path, "non-negative"});
}

TEST_F(Safetensors, HugeDimensionsOverflow) {
  expect_bad(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})",
             std::string(4, 0), {path, "overflows"});
}

TEST_F(Safetensors, DuplicateName) {
  expect_bad(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
             R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
             std::string(2, 0), {path, "'a' appears twice"});
}

TEST_F(Safetensors, MissingField) {
  expect_bad(R"({"a":{"dtype":"U8","shape":[1]}})", std::string(1, 0),
             {path, "missing 'data_offsets'"});
}

TEST_F(Safetensors, BadMetadata) {
  expect_bad(R"({"__metadata__":{"k":1}})", "", {path, "__metadata__"});
}

TEST_F(Safetensors, UnreadableFile) {
  test::expect_error([&] { SafetensorsFile::open(dir.file("missing.safetensors")); },
                     {"missing.safetensors", "cannot open"});
  test::expect_error([&] { SafetensorsFile::open(dir.str()); }, {dir.str(), "not a regular file"});
}

// Sharded components: an index.json weight_map pointing into several files.
class Sharded : public ::testing::Test {
 protected:
  test::TempDir dir;
  void make_shards() {
    SafetensorsWriter a, b;
    a.add("x", Tensor::full({2}, 1.0f));
    b.add("y", Tensor::full({3}, 2.0f));
    a.write(dir.file("model-00001-of-00002.safetensors"));
    b.write(dir.file("model-00002-of-00002.safetensors"));
  }
  void write_index(const std::string& body) {
    std::ofstream(dir.file("model.safetensors.index.json")) << body;
  }
};

TEST_F(Sharded, LoadsThroughIndex) {
  make_shards();
  write_index(R"({"metadata":{"total_size":20},"weight_map":{)"
              R"("x":"model-00001-of-00002.safetensors","y":"model-00002-of-00002.safetensors"}})");
  WeightSet w = WeightSet::open_folder(dir.str());
  EXPECT_EQ(w.size(), 2u);
  EXPECT_EQ(w.get("y").item_f32({2}), 2.0f);
  EXPECT_EQ(w.files().size(), 2u);
}

TEST_F(Sharded, MissingShard) {
  make_shards();
  std::filesystem::remove(dir.file("model-00002-of-00002.safetensors"));
  write_index(R"({"weight_map":{"x":"model-00001-of-00002.safetensors",)"
              R"("y":"model-00002-of-00002.safetensors"}})");
  test::expect_error([&] { WeightSet::open_folder(dir.str()); },
                     {"model-00002-of-00002.safetensors", "missing"});
}

TEST_F(Sharded, IndexPointsToWrongShard) {
  make_shards();
  write_index(R"({"weight_map":{"x":"model-00002-of-00002.safetensors",)"
              R"("y":"model-00002-of-00002.safetensors"}})");
  test::expect_error([&] { WeightSet::open_folder(dir.str()); }, {"'x'", "does not contain it"});
}

TEST_F(Sharded, ShardTensorNotInIndex) {
  make_shards();
  write_index(R"({"weight_map":{"x":"model-00001-of-00002.safetensors"}})");
  WeightSet::open_folder(dir.str());  // y's shard is never opened: fine
  write_index(
      R"({"weight_map":{"y":"model-00002-of-00002.safetensors",)"
      R"("x":"model-00001-of-00002.safetensors", "z":"model-00001-of-00002.safetensors"}})");
  test::expect_error([&] { WeightSet::open_folder(dir.str()); }, {"'z'"});
}

TEST_F(Sharded, PathEscapeRejected) {
  write_index(R"({"weight_map":{"x":"../../etc/passwd"}})");
  test::expect_error([&] { WeightSet::open_folder(dir.str()); }, {"not a file in this folder"});
}

TEST_F(Sharded, NoWeightsAtAll) {
  test::expect_error([&] { WeightSet::open_folder(dir.str()); }, {dir.str(), "no weights"});
}

TEST_F(Sharded, BrokenIndexJson) {
  write_index("{weight_map:");
  test::expect_error([&] { WeightSet::open_folder(dir.str()); }, {"index.json", "not valid JSON"});
}

}  // namespace
}  // namespace mova

namespace mova {
namespace {

// A 64 GiB file (sparse: it takes no disk) whose header describes one huge BF16 tensor.
// Opening it and listing tensors must touch only the header.
TEST(SafetensorsLarge, HeaderOnlyOnHugeSparseFile) {
  test::TempDir dir;
  const std::string path = dir.file("huge.safetensors");
  const uint64_t numel = 32ull << 30;  // 32 Gi elements × 2 bytes = 64 GiB
  std::string header = R"({"w":{"dtype":"BF16","shape":[)" + std::to_string(numel) +
                       R"(],"data_offsets":[0,)" + std::to_string(numel * 2) + "]}}";
  while ((header.size() + 8) % 8) header.push_back(' ');
  write_raw(path, header, "");
  std::error_code ec;
  std::filesystem::resize_file(path, 8 + header.size() + numel * 2, ec);
  if (ec) GTEST_SKIP() << "filesystem cannot hold a sparse 64 GiB file: " << ec.message();
  auto f = SafetensorsFile::open(path);
  ASSERT_EQ(f->tensors().size(), 1u);
  EXPECT_EQ(f->tensors()[0].numel(), static_cast<int64_t>(numel));
  Tensor t = f->tensor("w");  // a view: nothing is read until used
  EXPECT_EQ(t.nbytes(), numel * 2);
}

}  // namespace
}  // namespace mova
