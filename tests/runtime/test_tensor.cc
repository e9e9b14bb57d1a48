#include <gtest/gtest.h>
#include <cstdlib>

#include "capped_memory.h"
#include "runtime/allocator.h"
#include "runtime/tensor.h"
#include "test_util.h"

namespace mova {
namespace {

Tensor iota(const Shape& shape) {
  std::vector<float> v(shape_numel(shape));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i);
  return Tensor::from_vector(shape, v);
}

TEST(Tensor, ContiguousStridesAndNumel) {
  Tensor t = Tensor::zeros({2, 3, 4}, DType::kF32);
  EXPECT_EQ(t.numel(), 24);
  EXPECT_EQ(t.strides(), (Shape{12, 4, 1}));
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.nbytes(), 96u);
}

TEST(Tensor, PermuteThenContiguousMovesData) {
  Tensor t = iota({2, 3, 4});
  Tensor p = t.permute({2, 0, 1});  // [4, 2, 3]
  EXPECT_FALSE(p.is_contiguous());
  Tensor c = p.contiguous();
  ASSERT_EQ(c.shape(), (Shape{4, 2, 3}));
  for (int64_t a = 0; a < 4; ++a)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t d = 0; d < 3; ++d)
        EXPECT_EQ(c.item_f32({a, b, d}), static_cast<float>(b * 12 + d * 4 + a));
}

TEST(Tensor, NarrowSelectAndSqueezeAreViews) {
  Tensor t = iota({3, 5});
  Tensor n = t.narrow(1, 2, 3);
  EXPECT_EQ(n.shape(), (Shape{3, 3}));
  EXPECT_EQ(n.item_f32({1, 0}), 7.0f);
  EXPECT_EQ(n.raw_data(), static_cast<float*>(t.raw_data()) + 2);
  Tensor s = t.select(0, 2);
  EXPECT_EQ(s.shape(), (Shape{5}));
  EXPECT_EQ(s.item_f32({4}), 14.0f);
  EXPECT_EQ(t.unsqueeze(0).shape(), (Shape{1, 3, 5}));
  EXPECT_EQ(t.unsqueeze(0).squeeze(0).shape(), (Shape{3, 5}));
}

TEST(Tensor, EmptyTensorsAndTheirViewsAreContiguous) {
  Tensor t = Tensor::zeros({2, 3, 0}, DType::kF32);
  for (const Tensor& v : {t, t.select(0, 1), t.narrow(1, 1, 2), t.permute({2, 0, 1}),
                          Tensor::zeros({3, 4}, DType::kF32).narrow(1, 2, 0)}) {
    EXPECT_TRUE(v.is_contiguous()) << shape_str(v.shape());
    Tensor dst = v;
    dst.copy_from(Tensor::zeros(v.shape(), DType::kF32));  // used to throw "non-contiguous"
    EXPECT_EQ(v.reshape({0}).numel(), 0);
  }
}

TEST(Tensor, ExpandRepeatsSizeOneDimsWithoutCopying) {
  const Tensor t = Tensor::from_vector({2, 1}, {1, 2});
  const Tensor e = t.expand({3, 2, 4});
  EXPECT_EQ(e.raw_data(), t.raw_data());
  EXPECT_EQ(e.stride(0), 0);
  EXPECT_EQ(e.stride(2), 0);
  EXPECT_FALSE(e.is_contiguous());
  EXPECT_EQ(e.contiguous().to_vector(), std::vector<float>({1, 1, 1, 1, 2, 2, 2, 2, 1, 1, 1, 1,
                                                            2, 2, 2, 2, 1, 1, 1, 1, 2, 2, 2, 2}));
  test::expect_error([&] { t.expand({3, 4}); }, {"expand of", "dim 0 has size 2"});
  test::expect_error([&] { t.expand({2}); }, {"to fewer dims"});
}

TEST(Tensor, ReshapeInfersAndRejects) {
  Tensor t = iota({4, 6});
  EXPECT_EQ(t.reshape({-1, 3}).shape(), (Shape{8, 3}));
  test::expect_error([&] { t.reshape({5, -1}); }, {"cannot reshape", "[4, 6]"});
  test::expect_error([&] { t.transpose(0, 1).reshape({24}); }, {"non-contiguous"});
  test::expect_error([&] { t.narrow(0, 3, 2); }, {"out of range"});
}

TEST(Tensor, DtypeConversionRoundTrip) {
  Tensor t = Tensor::from_vector({4}, {1.0f, -2.5f, 0.1f, 3e4f});
  Tensor b = t.to(DType::kBF16);
  EXPECT_EQ(b.dtype(), DType::kBF16);
  Tensor back = b.to(DType::kF32);
  EXPECT_EQ(back.item_f32({1}), -2.5f);
  EXPECT_NEAR(back.item_f32({2}), 0.1f, 0.001f);
  // Non-contiguous source converts too.
  Tensor m = iota({3, 2}).transpose(0, 1).to(DType::kF16);
  EXPECT_EQ(m.item_f32({1, 2}), 5.0f);
}

TEST(Tensor, ErrorsNameTheTensor) {
  Tensor t = Tensor::zeros({2, 2}, DType::kBF16);
  t.set_name("blocks.0.ffn.0.weight");
  test::expect_error([&] { t.data<float>(); }, {"blocks.0.ffn.0.weight", "[2, 2]", "BF16"});
  test::expect_error([&] { shape_numel({INT64_MAX / 2, 4}); }, {"too many elements"});
}

TEST(BufferPool, ReusesFreedBuffers) {
  BufferPool pool;
  void* first;
  {
    Tensor a = Tensor::empty({1000}, DType::kF32, &pool);
    first = a.raw_data();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 64, 0u);
  }
  Tensor b = Tensor::empty({990}, DType::kF32, &pool);  // same size class
  EXPECT_EQ(b.raw_data(), first);
  const MemoryStats s = pool.stats();
  EXPECT_EQ(s.allocations, 2u);
  EXPECT_EQ(s.reuses, 1u);
  EXPECT_GE(s.peak_in_use, 4000u);
}

TEST(BufferPool, CacheNeverExceedsTheLivePeak) {
  BufferPool pool;
  { Tensor big = Tensor::empty({1 << 20}, DType::kF32, &pool); }  // 4 MiB, now cached
  EXPECT_EQ(pool.stats().cached, size_t{4} << 20);
  {
    // A miss of another size: keeping the 4 MiB buffer would make live + cached (5 MiB)
    // exceed the 4 MiB live peak, so it is freed.
    Tensor small = Tensor::empty({1 << 18}, DType::kF32, &pool);
    EXPECT_EQ(pool.stats().cached, 0u);
  }
  // Repeating shapes still reuse: the 1 MiB buffer comes back from the cache.
  Tensor again = Tensor::empty({1 << 18}, DType::kF32, &pool);
  const MemoryStats s = pool.stats();
  EXPECT_EQ(s.reuses, 1u);
  EXPECT_LE(s.in_use + s.cached, s.peak_in_use);
  // A stage's own high-water mark (generate's GPU peak column) starts from what is in use.
  pool.mark_peak();
  EXPECT_EQ(pool.stats().peak_since_mark, size_t{1} << 20);
  { Tensor two = Tensor::empty({1 << 19}, DType::kF32, &pool); }
  EXPECT_EQ(pool.stats().peak_since_mark, size_t{3} << 20);
  EXPECT_EQ(pool.stats().peak_in_use, size_t{4} << 20);
}

// A full "device": the pool frees its cache, then asks its reclaimers for memory one piece at a
// time until the allocation fits; a dropped handle unregisters (even after the pool is gone).
TEST(BufferPool, ReclaimersGiveBackMemoryWhenAnAllocationFails) {
  test::CappedMemory memory(16 << 10);
  BufferPool pool(memory.allocator("capped", Device::cuda(3)));
  std::vector<Tensor> held;  // what the reclaimer could do without: 3 × 4 KiB
  held.reserve(3);
  for (int i = 0; i < 3; ++i) held.push_back(Tensor::empty({1024}, DType::kF32, &pool));
  int calls = 0;
  std::shared_ptr<void> handle = pool.add_reclaimer([&] {
    ++calls;
    if (held.empty()) return false;
    held.pop_back();
    return true;
  });
  EXPECT_TRUE(handle);  // non-null: a holder can tell it has registered
  // 12 KiB held of 16: an 8 KiB buffer needs one of the held ones back, not all of them.
  pool.mark_peak();
  Tensor big = Tensor::empty({2048}, DType::kF32, &pool);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(held.size(), 2u);
  EXPECT_LE(memory.in_use(), size_t{16} << 10);
  // The peaks count what was held at once: 16 KiB, not the 20 KiB of the held buffers and the
  // new one before one was given back.
  EXPECT_EQ(pool.stats().peak_in_use, size_t{16} << 10);
  EXPECT_EQ(pool.stats().peak_since_mark, size_t{16} << 10);
  // Nothing left to give: the error names the pool.
  test::expect_error([&] { Tensor::empty({4096}, DType::kF32, &pool); },
                     {"out of capped memory allocating 16384 bytes"});
  EXPECT_TRUE(held.empty());
  // Unregistered: a failing allocation no longer calls it.
  handle.reset();
  const int before = calls;
  test::expect_error([&] { Tensor::empty({4096}, DType::kF32, &pool); }, {"out of capped memory"});
  EXPECT_EQ(calls, before);
  // A handle that outlives its pool unregisters without touching freed memory (ASan checks).
  std::shared_ptr<void> late;
  {
    BufferPool other(memory.allocator("other", Device::cuda(3)));
    late = other.add_reclaimer([] { return false; });
  }
  late.reset();
}

TEST(BufferPool, SizeClassesBoundSlack) {
  for (size_t bytes : {1ul, 255ul, 257ul, 1000ul, 4097ul, 123456789ul}) {
    const size_t c = BufferPool::size_class(bytes);
    EXPECT_GE(c, bytes);
    EXPECT_LE(c, std::max<size_t>(256, bytes + bytes / 4 + 1)) << bytes;
  }
}

// A device pool (the CUDA backend's) is a BufferPool over another RawAllocator. When that
// memory runs out (another user took it), the pool frees its whole cache, retries once, and
// then throws an error naming the memory, with its counters left consistent.
TEST(BufferPool, OutOfMemoryFreesTheCacheThenNamesTheAllocator) {
  struct Budget {
    size_t left = 1 << 20;
    int freed = 0;
  };
  auto budget = std::make_shared<Budget>();
  RawAllocator limited{"test-device", Device::cpu(),
                       [budget](size_t bytes) -> void* {
                         if (bytes > budget->left) return nullptr;
                         budget->left -= bytes;
                         return std::malloc(bytes);
                       },
                       [budget](void* p) {
                         ++budget->freed;
                         std::free(p);
                       }};
  BufferPool pool(limited);
  { auto a = pool.allocate(4096), b = pool.allocate(4096), c = pool.allocate(4096); }
  EXPECT_EQ(pool.stats().cached, 3u * 4096);
  budget->left = 0;  // someone else takes the rest of the device
  try {
    auto d = pool.allocate(2048);
    FAIL() << "expected an out-of-memory error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kOutOfMemory);
    EXPECT_NE(std::string(e.what()).find("out of test-device memory"), std::string::npos)
        << e.what();
    EXPECT_FALSE(is_device_out_of_memory(e));  // its memory is the host's (Device::cpu())
  }
  EXPECT_EQ(budget->freed, 3);  // one evicted on the miss, the other two by the retry
  EXPECT_EQ(pool.stats().cached, 0u);
  EXPECT_EQ(pool.stats().in_use, 0u);
  budget->left = 1 << 20;
  auto e = pool.allocate(2048);  // usable again once memory is back
  EXPECT_EQ(pool.stats().in_use, 2048u);
}

// Generate decodes in tiles when a GPU runs out of memory, and must not when the host does:
// the error says which, by the pool's device rather than by its wording.
TEST(BufferPool, OutOfMemorySaysWhetherADeviceRanOut) {
  for (const Device device : {Device::cpu(), Device::cuda(7)}) {
    BufferPool pool(RawAllocator{"host", device, [](size_t) -> void* { return nullptr; },
                                 [](void* p) { std::free(p); }});
    try {
      auto a = pool.allocate(256);
      FAIL() << "expected an out-of-memory error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kOutOfMemory);
      EXPECT_EQ(is_device_out_of_memory(e), !device.is_cpu()) << device.str();
    }
  }
  // Out of memory that does not say where is taken as the host's.
  EXPECT_FALSE(is_device_out_of_memory(Error(ErrorKind::kOutOfMemory, "out of cuda:0 memory")));
  EXPECT_TRUE(is_device_out_of_memory(OutOfMemoryError(/*on_host=*/false, "cuda:0")));
}

TEST(BufferPool, BufferOutlivesPool) {
  Tensor t;
  {
    BufferPool pool;
    t = Tensor::full({16}, 2.0f, &pool);
  }
  EXPECT_EQ(t.item_f32({3}), 2.0f);  // still valid; freed when t goes (ASan checks the rest)
}

}  // namespace
}  // namespace mova
