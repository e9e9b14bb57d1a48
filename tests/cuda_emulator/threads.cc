// CUDA emulator: kernel launches. Blocks run one after another; the threads of a block are
// fibers (own stacks, switched by hand-written x86-64 code: glibc's swapcontext makes a system
// call per switch) resumed by a scheduler. A fiber runs until it waits at a barrier or returns.
// The scheduler lets one warp run as far as it can (until every lane waits at a block barrier or
// has returned) before the next starts; inside a warp, lanes are resumed round-robin. Blocks
// whose blockIdx.x + y + z is even go in ascending order (warps and lanes), the others in
// descending order. So between barriers one warp runs ahead of the others, and one end of a
// warp ahead of the other: a thread reading another warp's or lane's unsynchronised write sees
// stale memory in one of the two orders, and a warp that overwrites shared memory which
// another warp has yet to read shows too. A barrier completes when every live member has
// arrived; a pass in which no fiber moves is a deadlock (threads waiting at different
// barriers), reported and the launch abandoned.
#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <vector>

#include "cuda_runtime.h"
#include "emulator.h"

uint3 threadIdx;
uint3 blockIdx;
dim3 blockDim;
dim3 gridDim;

#if !defined(__x86_64__)
#error "the CUDA emulator's fiber switch is written for x86-64"
#endif

// Saves the callee-saved registers on the current stack, stores the stack pointer in *save and
// continues on the stack `load` (as left by a previous switch, or prepared by start_fiber).
extern "C" void mova_cuda_emulator_switch(void** save, void* load);
asm(R"(
  .pushsection .text
  .globl mova_cuda_emulator_switch
  .type mova_cuda_emulator_switch, @function
mova_cuda_emulator_switch:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size mova_cuda_emulator_switch, .-mova_cuda_emulator_switch
  .popsection
)");

namespace mova::cuda_emulator {
namespace {

constexpr size_t kStackBytes = size_t{256} << 10;
constexpr size_t kGuardBytes = 4096;
constexpr int kMaxThreads = 1024;
constexpr int kMaxGatherWords = 4;

struct Fiber {
  void* sp = nullptr;
  uint3 index{};
  bool done = false;
  uint64_t shuffles = 0;           // values published by warp shuffles so far
  uint64_t published[2] = {0, 0};  // the last two, by shuffle number modulo 2
  // cp.async copies: started since the last commit, and committed groups oldest first.
  std::vector<std::function<void()>> started;
  std::deque<std::vector<std::function<void()>>> committed;
};

struct Group {
  int arrived = 0;
  uint64_t generation = 0;
};

struct Block {
  std::vector<Fiber> fibers;
  int live = 0;
  Group block;
  Group warps[kMaxThreads / 32];
  uint32_t gathered[kMaxThreads][kMaxGatherWords];  // warp_gather's staging, by thread
  std::vector<unsigned char> storage;  // dynamic shared memory, 128-byte aligned inside
  unsigned char* shared = nullptr;
  size_t shared_bytes = 0;
};

// The launch being executed (launches are serialised by gpu_mutex()).
struct Running {
  const char* kernel = nullptr;
  void (*body)(void*) = nullptr;
  void* closure = nullptr;
  Block block;
  int current = -1;
  void* scheduler_sp = nullptr;
  uint64_t progress = 0;
  bool failed = false;
  size_t shared_limit = 0;                                    // dynamic + static, as the GPU counts
  std::vector<std::pair<const void*, size_t>> static_shared;  // arrays this block declared
  size_t static_shared_bytes = 0;
} running;

std::vector<char*>& stacks() {
  static std::vector<char*> s;
  return s;
}

char* stack(size_t i) {
  while (stacks().size() <= i) {
    void* p = mmap(nullptr, kStackBytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "mova CUDA emulator: no memory for a thread stack\n");
      std::abort();
    }
    mprotect(p, kGuardBytes, PROT_NONE);  // an overflowing kernel faults instead of corrupting
    stacks().push_back(static_cast<char*>(p));
  }
  return stacks()[i];
}

Fiber& me() {
  return running.block.fibers[static_cast<size_t>(running.current)];
}

void yield() {
  mova_cuda_emulator_switch(&me().sp, running.scheduler_sp);
}

[[noreturn]] void fiber_main() {
  running.body(running.closure);
  me().done = true;
  --running.block.live;
  ++running.progress;
  void* unused = nullptr;
  mova_cuda_emulator_switch(&unused, running.scheduler_sp);
  __builtin_unreachable();
}

extern "C" [[noreturn]] void mova_cuda_emulator_fiber_entry() {
  fiber_main();
}

// A stack that the switch's pops and `ret` turn into a call of the entry function: six zero
// registers, the entry's address, and a slot that leaves the stack aligned as after a call.
void start_fiber(Fiber& f, char* stack_base) {
  f.shuffles = 0;
  f.started.clear();  // a GPU thread that exits with copies in flight: nobody may read them
  f.committed.clear();
  auto top = reinterpret_cast<uintptr_t>(stack_base + kStackBytes) & ~uintptr_t{15};
  auto** sp = reinterpret_cast<void**>(top);  // NOLINT(performance-no-int-to-ptr): a stack top
  *--sp = nullptr;
  *--sp = reinterpret_cast<void*>(&mova_cuda_emulator_fiber_entry);
  for (int i = 0; i < 6; ++i) *--sp = nullptr;
  f.sp = sp;
  f.done = false;
}

template <class Needed>
void wait_at(Group& g, Needed needed) {
  const uint64_t generation = g.generation;
  ++g.arrived;
  ++running.progress;
  for (;;) {
    if (g.generation != generation) return;
    if (g.arrived >= needed()) {
      g.arrived = 0;
      ++g.generation;
      ++running.progress;
      // The releasing thread waits its turn too, so threads leave a barrier in the block's
      // scheduling order: the first reading what a later one writes after the barrier,
      // unsynchronised, reads stale memory here.
      yield();
      return;
    }
    yield();
  }
}

int live_lanes(int warp, unsigned mask) {
  int n = 0;
  const int threads = static_cast<int>(running.block.fibers.size());
  for (int lane = 0; lane < 32; ++lane) {
    const int t = warp * 32 + lane;
    if (t < threads && (mask >> lane & 1u) && !running.block.fibers[static_cast<size_t>(t)].done)
      ++n;
  }
  return n;
}

void run_block(int threads) {
  Block& b = running.block;
  b.live = threads;
  b.block = {};
  for (Group& g : b.warps) g = {};
  std::memset(b.shared, 0xff, b.shared_bytes);  // shared memory starts as garbage
  running.static_shared.clear();
  running.static_shared_bytes = 0;
  for (int t = 0; t < threads; ++t) start_fiber(b.fibers[static_cast<size_t>(t)], stack(t));
  const int warps = (threads + 31) / 32;
  const bool descending = (blockIdx.x + blockIdx.y + blockIdx.z) % 2 == 1;
  while (b.live > 0) {
    const uint64_t before = running.progress;
    for (int i = 0; i < warps; ++i) {
      const int warp = descending ? warps - 1 - i : i;
      for (;;) {  // this warp runs ahead until it moves no more
        const uint64_t warp_before = running.progress;
        const int first = warp * 32, last = std::min(threads, warp * 32 + 32);
        for (int k = 0; k < last - first; ++k) {
          const int t = descending ? last - 1 - k : first + k;
          Fiber& f = b.fibers[static_cast<size_t>(t)];
          if (f.done) continue;
          running.current = t;
          threadIdx = f.index;
          mova_cuda_emulator_switch(&running.scheduler_sp, f.sp);
        }
        if (running.progress == warp_before || running.failed) break;
      }
    }
    if (running.progress == before) {
      fail(cudaErrorLaunchFailure,
           "%s: block (%u, %u, %u) deadlocks: its threads wait at different barriers",
           running.kernel, blockIdx.x, blockIdx.y, blockIdx.z);
      running.failed = true;
      return;
    }
  }
}

}  // namespace

void run_grid(const char* name, dim3 grid, dim3 block, size_t shared_bytes, void (*body)(void*),
              void* closure) {
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  const uint64_t threads = uint64_t{block.x} * block.y * block.z;
  if (threads == 0 || threads > kMaxThreads || block.x > 1024 || block.y > 1024 || block.z > 64) {
    fail(cudaErrorInvalidConfiguration, "%s: block (%u, %u, %u)", name, block.x, block.y, block.z);
    return;
  }
  if (grid.x == 0 || grid.x > 0x7fffffffu || grid.y == 0 || grid.y > 65535 || grid.z == 0 ||
      grid.z > 65535) {
    fail(cudaErrorInvalidConfiguration, "%s: grid (%u, %u, %u)", name, grid.x, grid.y, grid.z);
    return;
  }
  const size_t shared_limit = dynamic_shared_limit(name);
  if (shared_bytes > shared_limit) {
    fail(cudaErrorInvalidValue,
         "%s: %zu bytes of dynamic shared memory, %zu allowed (cudaFuncSetAttribute raises it)",
         name, shared_bytes, shared_limit);
    return;
  }
  if (current_device() >= device_count()) {
    fail(cudaErrorInvalidDevice, "%s: launched on device %d", name, current_device());
    return;
  }

  if (memory_only()) return;  // the launch was checked; nothing is computed

  running.shared_limit = shared_limit;
  running.kernel = name;
  running.body = body;
  running.closure = closure;
  running.failed = false;
  blockDim = block;
  gridDim = grid;
  Block& b = running.block;
  b.fibers.assign(threads, Fiber{});
  for (unsigned z = 0, t = 0; z < block.z; ++z)
    for (unsigned y = 0; y < block.y; ++y)
      for (unsigned x = 0; x < block.x; ++x, ++t) b.fibers[t].index = {x, y, z};
  b.storage.assign(shared_bytes + 128, 0);
  b.shared_bytes = shared_bytes;
  b.shared = b.storage.data() + (128 - reinterpret_cast<uintptr_t>(b.storage.data()) % 128);

  const DeviceAccess open;
  for (unsigned z = 0; z < grid.z && !running.failed; ++z)
    for (unsigned y = 0; y < grid.y && !running.failed; ++y)
      for (unsigned x = 0; x < grid.x && !running.failed; ++x) {
        blockIdx = {x, y, z};
        run_block(static_cast<int>(threads));
      }
  running.current = -1;
}

bool check_kernel_pointer(const void* p, const char* name, int argument) {
  if (!p) return true;
  const std::lock_guard<std::recursive_mutex> lock(gpu_mutex());
  const auto a = find_allocation(p, 0);
  if (!a) {
    fail(cudaErrorInvalidValue, "%s: argument %d (%p) is not device memory", name, argument, p);
    return false;
  }
  if (a->device != current_device()) {
    fail(cudaErrorInvalidValue, "%s: argument %d is memory of device %d, launched on device %d",
         name, argument, a->device, current_device());
    return false;
  }
  touched_on_default_stream(p);  // kernels run on the default stream
  return true;
}

void static_shared_array(void* p, size_t bytes) {
  for (const auto& array : running.static_shared)
    if (array.first == p) return;
  // The first thread of the block to declare the array: nobody has written it yet.
  running.static_shared.emplace_back(p, bytes);
  std::memset(p, 0xff, bytes);
  running.static_shared_bytes += bytes;
  if (running.static_shared_bytes + running.block.shared_bytes > running.shared_limit) {
    char what[160];
    std::snprintf(what, sizeof what,
                  "%zu bytes of static and %zu of dynamic shared memory, %zu allowed",
                  running.static_shared_bytes, running.block.shared_bytes, running.shared_limit);
    kernel_fault(what);
  }
}

void* dynamic_shared_memory() {
  return running.block.shared;
}

void block_barrier() {
  wait_at(running.block.block, [] { return running.block.live; });
}

int lane_id() {
  return running.current % 32;
}

void kernel_fault(const char* what) {
  if (running.failed) return;  // the first fault is the one to report
  fail(cudaErrorLaunchFailure, "%s: block (%u, %u, %u), thread %d: %s", running.kernel, blockIdx.x,
       blockIdx.y, blockIdx.z, running.current, what);
  running.failed = true;
}

void warp_barrier(unsigned mask) {
  const int warp = running.current / 32;
  if (mask != 0xffffffffu) {
    // Partial masks are legal CUDA; this emulator pairs a warp's barriers and shuffles by
    // count, which only holds when the whole warp takes part, so it refuses them loudly.
    kernel_fault(
        "a warp barrier or shuffle with a partial mask (the emulator takes 0xffffffff "
        "only)");
    return;
  }
  wait_at(running.block.warps[warp], [warp, mask] { return live_lanes(warp, mask); });
}

// PTX makes a shuffle wait for every lane of its mask, but promises no memory ordering (that
// is __syncwarp()'s job). Here a lane continues once the lane it reads has published, so code
// that leans on a shuffle to order shared-memory writes reads stale memory, as the memory
// model allows. Lanes pair their k-th shuffles, counted per block. Each lane keeps its last two
// published values; a lane publishes its k-th once every lane has published its (k-1)-th, which
// each does after reading its (k-2)-th, the value about to be overwritten.
uint64_t warp_exchange(unsigned mask, uint64_t bits, int source) {
  const int self = running.current, warp = self / 32;
  const int threads = static_cast<int>(running.block.fibers.size());
  if (mask != 0xffffffffu) {
    warp_barrier(mask);  // reports the partial mask
    return bits;
  }
  const auto lane_fiber = [&](int lane) -> Fiber* {
    const int t = warp * 32 + lane;
    return t < threads && (mask >> lane & 1u) ? &running.block.fibers[static_cast<size_t>(t)]
                                              : nullptr;
  };
  const uint64_t k = me().shuffles;
  for (;;) {  // every live lane has published its (k-1)-th value
    bool behind = false;
    for (int lane = 0; lane < 32; ++lane) {
      const Fiber* f = lane_fiber(lane);
      if (f && !f->done && f->shuffles < k) behind = true;
    }
    if (!behind) break;
    yield();
  }
  me().published[k % 2] = bits;
  me().shuffles = k + 1;
  ++running.progress;
  const Fiber* from = source >= 0 && source < 32 ? lane_fiber(source) : nullptr;
  if (!from) return bits;
  while (from->shuffles < k + 1) {
    if (from->done) return bits;  // the source lane left: what it holds is undefined on a GPU
    yield();
  }
  return from->published[k % 2];
}

}  // namespace mova::cuda_emulator

namespace mova::cuda_emulator {

bool in_shared_memory(const void* p, size_t bytes) {
  const auto inside = [p, bytes](const void* begin, size_t size) {
    const auto* b = static_cast<const unsigned char*>(begin);
    const auto* q = static_cast<const unsigned char*>(p);
    return q >= b && bytes <= size && q - b <= static_cast<ptrdiff_t>(size - bytes);
  };
  if (inside(running.block.shared, running.block.shared_bytes)) return true;
  for (const auto& array : running.static_shared)
    if (inside(array.first, array.second)) return true;
  return false;
}

void warp_gather(const uint32_t* mine, int words, uint32_t* all) {
  const int warp = running.current / 32;
  if (live_lanes(warp, 0xffffffffu) != 32) {
    kernel_fault("a warp-wide instruction (mma, ldmatrix) with fewer than 32 live lanes");
    return;
  }
  if (words > kMaxGatherWords) {
    kernel_fault("warp_gather: too many words");
    return;
  }
  std::memcpy(running.block.gathered[running.current], mine, sizeof(uint32_t) * words);
  warp_barrier(0xffffffffu);
  for (int lane = 0; lane < 32; ++lane)
    std::memcpy(all + lane * words, running.block.gathered[warp * 32 + lane],
                sizeof(uint32_t) * words);
  warp_barrier(0xffffffffu);  // nobody stages the next operands before every lane has these
}

void async_copy_start(std::function<void()> copy) {
  me().started.push_back(std::move(copy));
}

void async_copy_commit() {
  Fiber& f = me();
  f.committed.push_back(std::move(f.started));
  f.started.clear();
}

void async_copy_wait(int pending) {
  Fiber& f = me();
  while (static_cast<int>(f.committed.size()) > pending) {
    for (auto& copy : f.committed.front()) copy();
    f.committed.pop_front();
  }
}

}  // namespace mova::cuda_emulator
