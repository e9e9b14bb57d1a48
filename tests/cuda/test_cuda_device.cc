// Device discovery and device memory. The first test runs on every machine: without a GPU
// the count is 0 and asking for a device is a clear error, not a crash.
#include <string>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "runtime/error.h"
#include "test_util.h"

namespace mova {
namespace {

TEST(CudaDevice, AMissingDeviceIsAClearError) {
  const int n = cuda::device_count();
  EXPECT_GE(n, 0);
  for (int bad : {n, -1}) {
    try {
      cuda::device_info(bad);
      FAIL() << "expected an error for device " << bad;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidArgument);
      EXPECT_NE(std::string(e.what()).find("no CUDA device " + std::to_string(bad)),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(CudaDevice, DescribesTheGpu) {
  MOVA_REQUIRE_GPU();
  const cuda::DeviceInfo info = cuda::device_info(0);
  EXPECT_GE(info.major, 8) << "built for sm_80 and sm_90";
  EXPECT_GT(info.total_bytes, size_t{1} << 30);
  const std::string text = cuda::describe(info);
  EXPECT_NE(text.find("sm_"), std::string::npos) << text;
  std::printf("device 0: %s\n", text.c_str());
}

TEST(CudaDeviceMemory, PoolRoundTripsAndReuses) {
  MOVA_REQUIRE_GPU();
  BufferPool pool(cuda::device_allocator(0));
  const auto v = test::random_vector(1000, 7);
  {
    auto buf = pool.allocate(v.size() * sizeof(float));
    cuda::copy_to_device(buf.get(), v.data(), v.size() * sizeof(float));
    std::vector<float> back(v.size());
    cuda::copy_to_host(back.data(), buf.get(), back.size() * sizeof(float));
    EXPECT_EQ(back, v);
  }
  auto again = pool.allocate(v.size() * sizeof(float));
  EXPECT_EQ(pool.stats().reuses, 1u);
}

TEST(CudaDeviceMemory, OutOfMemoryNamesTheDevice) {
  MOVA_REQUIRE_GPU();
  BufferPool pool(cuda::device_allocator(0));
  try {
    auto huge = pool.allocate(size_t{1} << 50);  // 1 PiB
    FAIL() << "expected out of memory";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kOutOfMemory);
    EXPECT_NE(std::string(e.what()).find("out of cuda:0 memory"), std::string::npos) << e.what();
    EXPECT_TRUE(is_device_out_of_memory(e));
  }
  auto small = pool.allocate(4096);  // the device is still usable
  EXPECT_NE(small.get(), nullptr);
}

}  // namespace
}  // namespace mova
