// Row-wise work over chunks of tokens (models/row_chunks.h): how rows are split, what is gathered,
// and when the residual stream is written in place or copied first.
#include "models/row_chunks.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "runtime/ops/elementwise.h"
#include "test_util.h"

namespace mova {
namespace {

using Chunks = std::vector<std::pair<int64_t, int64_t>>;

Chunks chunks_of(int64_t L, int64_t chunk) {
  Exec ex(1);
  Chunks seen;
  gather_row_chunks(ex, L, chunk, [&](int64_t first, int64_t n) {
    seen.emplace_back(first, n);
    return std::vector<Tensor>{Tensor::zeros({1, n, 1}, DType::kF32)};
  });
  return seen;
}

// The fewest chunks within the limit, of near-equal sizes, covering every row once in order.
TEST(RowChunks, SplitsRowsIntoTheFewestNearEqualChunks) {
  EXPECT_EQ(chunks_of(8, 8), (Chunks{{0, 8}}));
  EXPECT_EQ(chunks_of(8, 100), (Chunks{{0, 8}}));
  EXPECT_EQ(chunks_of(8, 3), (Chunks{{0, 2}, {2, 3}, {5, 3}}));
  EXPECT_EQ(chunks_of(8, 5), (Chunks{{0, 4}, {4, 4}}));
  EXPECT_EQ(chunks_of(3, 1), (Chunks{{0, 1}, {1, 1}, {2, 1}}));
  // 360p: 43,120 video tokens within the published DiT's 9,709 are five chunks of 8,624.
  const Chunks published = chunks_of(43120, 9709);
  ASSERT_EQ(published.size(), 5u);
  for (const auto& [first, n] : published) EXPECT_EQ(n, 8624) << first;
}

// Each result lands in its rows of one tensor per result, of the first chunk's dtype.
TEST(RowChunks, GathersEachResultIntoItsRows) {
  Exec ex(1);
  const Tensor x = Tensor::from_vector({1, 7, 2}, test::random_vector(14, 1));
  const std::vector<Tensor> got = gather_row_chunks(ex, 7, 3, [&](int64_t first, int64_t n) {
    const Tensor rows = x.narrow(1, first, n);
    return std::vector<Tensor>{affine(ex, rows, 2.0f, 1.0f), rows.to(DType::kBF16)};
  });
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].to_vector(), affine(ex, x, 2.0f, 1.0f).to_vector());
  EXPECT_EQ(got[1].dtype(), DType::kBF16);
  EXPECT_EQ(got[1].to_vector(), x.to(DType::kBF16).to_vector());
  test::expect_error(
      [&] {
        gather_row_chunks(ex, 7, 3, [&](int64_t first, int64_t n) {
          const Tensor rows = x.narrow(1, first, n);
          return std::vector<Tensor>{first == 0 ? rows.clone() : rows.to(DType::kBF16)};
        });
      },
      {"gather_row_chunks", "BF16"});
}

// A stream nothing else holds is written in place, chunk by chunk; one another tensor shares is
// copied first, and the other keeps its values. Up to one chunk, the update's own result.
TEST(RowChunks, UpdatesInPlaceUnlessTheStorageIsShared) {
  Exec ex(1);
  const std::vector<float> values = test::random_vector(20, 2);
  const auto doubled = [&](const Tensor& rows, int64_t, int64_t) {
    return affine(ex, rows, 2.0f, 0.0f);
  };
  std::vector<float> twice(values);
  for (float& v : twice) v *= 2.0f;

  Tensor alone = Tensor::from_vector({1, 10, 2}, values);
  const void* storage = alone.raw_data();
  update_row_chunks(ex, alone, 4, doubled);
  EXPECT_EQ(alone.raw_data(), storage);
  EXPECT_EQ(alone.to_vector(), twice);

  Tensor shared = Tensor::from_vector({1, 10, 2}, values);
  const Tensor other = shared;
  update_row_chunks(ex, shared, 4, doubled);
  EXPECT_NE(shared.raw_data(), other.raw_data());
  EXPECT_EQ(shared.to_vector(), twice);
  EXPECT_EQ(other.to_vector(), values);

  Tensor whole = Tensor::from_vector({1, 10, 2}, values);
  const Tensor before = whole;
  update_row_chunks(ex, whole, 10, doubled);
  EXPECT_EQ(whole.to_vector(), twice);
  EXPECT_EQ(before.to_vector(), values);

  test::expect_error(
      [&] {
        update_row_chunks(ex, alone, 4, [&](const Tensor& rows, int64_t, int64_t) {
          return rows.to(DType::kBF16);
        });
      },
      {"update_row_chunks", "BF16"});
}

}  // namespace
}  // namespace mova
