// Uploads beside the compute stream (runtime/cuda/upload_queue.h): the bytes every later op
// reads are the host's, whatever order uploads are begun, finished or dropped in, with
// staging buffers far smaller than the tensors (each copy in many chunks through two of them).
// On the emulator, copies from pinned memory run only when waited for, so an op ordered
// before its upload's copy reads poison (NaN), and a staging buffer reused too early gives
// the copy another chunk's bytes: either fails these exact comparisons.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "cuda/cuda_test_util.h"
#include "runtime/cuda/cuda_backend.h"
#include "runtime/cuda/upload_queue.h"
#include "runtime/ops/elementwise.h"
#include "test_util.h"

namespace mova {
namespace {

const Device kGpu = Device::cuda(0);

class CudaUpload : public ::testing::Test {
 protected:
  void SetUp() override {
    MOVA_REQUIRE_GPU();
    backend_ = cuda::open_backend(0, Precision::kF32);
    queue_ = std::make_unique<cuda::UploadQueue>(0, backend_->buffers(), 4096, 2);
  }
  void TearDown() override { queue_.reset(); }

  static Tensor random(int64_t n, uint32_t seed) {
    return Tensor::from_vector({n}, test::random_vector(n, seed));
  }
  // Read by an op on the compute stream, then brought back.
  std::vector<float> used(const Tensor& device_tensor) {
    return affine(ex_, device_tensor, 1.0f, 0.0f).to(Device::cpu()).to_vector();
  }

  Exec ex_{1};
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<cuda::UploadQueue> queue_;
};

TEST_F(CudaUpload, EveryOpAfterFinishSeesTheHostBytes) {
  std::vector<Tensor> hosts;
  std::vector<std::unique_ptr<Backend::PendingUpload>> pending;
  const int64_t sizes[] = {1, 1000, 1024, 5000, 3, 20000};  // 4096-byte chunks: 1 to 20
  for (int i = 0; i < 6; ++i) {
    hosts.push_back(random(sizes[i], 100 + i));
    pending.push_back(queue_->begin(hosts.back()));
    ASSERT_NE(pending.back(), nullptr);
  }
  for (int i : {5, 0, 3, 1, 4, 2}) {  // not in the order begun
    const Tensor d = pending[i]->finish();
    EXPECT_EQ(d.device(), kGpu);
    EXPECT_EQ(used(d), hosts[i].to_vector()) << "upload " << i;
  }
}

// BF16 weights travel as they are stored.
TEST_F(CudaUpload, KeepsTheStoredDtype) {
  const Tensor h = random(3001, 7).to(DType::kBF16);
  const Tensor d = queue_->begin(h)->finish();
  EXPECT_EQ(d.dtype(), DType::kBF16);
  EXPECT_EQ(d.to(Device::cpu()).to(DType::kF32).to_vector(), h.to(DType::kF32).to_vector());
}

// The pool hands an upload memory an op queued just before still uses (here an op's output,
// freed at once: the same size, so the same buffer). The copy must wait for that op; on the
// emulator, which stamps the memory each default-stream operation touches, a copy queued
// without that wait is refused (the worker's error then fails finish()).
TEST_F(CudaUpload, TheCopyWaitsForOpsStillUsingItsMemory) {
  const Tensor x = random(5000, 4).to(kGpu);
  affine(ex_, x, 3.0f, 1.0f);  // its output goes back to the pool here
  const Tensor h = random(5000, 5);
  EXPECT_EQ(used(queue_->begin(h)->finish()), h.to_vector());
}

// An upload dropped before finish() once its copy is on the stream: its memory goes back to the
// pool only after that copy, so what gets the memory next (the same size: the pool's same
// buffer) keeps its own bytes once a later upload has been waited for (the copy stream runs in
// order: on the emulator that wait runs any copy still pending before it).
TEST_F(CudaUpload, ADroppedUploadCannotOverwriteWhatReusesItsMemory) {
  const Tensor stale = random(5000, 1), fresh = random(5000, 2);
  std::unique_ptr<Backend::PendingUpload> dropped = queue_->begin(stale);
  queue_->wait_queued();  // too late to skip it
  dropped.reset();
  const Tensor reused = fresh.to(kGpu);
  EXPECT_EQ(used(queue_->begin(random(300, 3))->finish()), random(300, 3).to_vector());
  EXPECT_EQ(reused.to(Device::cpu()).to_vector(), fresh.to_vector());
}

// Dropped before the worker reached it: skipped, and the queue goes on.
TEST_F(CudaUpload, UploadsDroppedAtOnceAreSkipped) {
  for (int i = 0; i < 20; ++i) queue_->begin(random(9000, 50 + i)).reset();
  const Tensor h = random(9000, 99);
  EXPECT_EQ(used(queue_->begin(h)->finish()), h.to_vector());
}

// Weights streamed block after block: the next block's upload begun before this one's ops.
TEST_F(CudaUpload, BackendUploadsOverlapAStreamOfOps) {
  std::vector<Tensor> hosts;
  hosts.reserve(8);
  for (int i = 0; i < 8; ++i) hosts.push_back(random(2048 + 517 * i, 200 + i));
  std::unique_ptr<Backend::PendingUpload> next = backend_->begin_upload(hosts[0]);
  for (int i = 0; i < 8; ++i) {
    const Tensor w = next->finish();
    if (i + 1 < 8) next = backend_->begin_upload(hosts[i + 1]);
    EXPECT_EQ(used(w), hosts[i].to_vector()) << "block " << i;
  }
}

}  // namespace
}  // namespace mova
