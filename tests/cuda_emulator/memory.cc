// CUDA emulator: device memory. One mmap'd arena, PROT_NONE except inside DeviceAccess scopes,
// so host code that dereferences a device pointer faults (and the handler below names the
// allocation). Allocations are filled with 0xFF bytes when made and when freed, a NaN in F32,
// BF16 and F16, so a kernel that reads memory nothing wrote, or memory already freed, produces
// NaNs instead of plausible numbers.
#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "emulator.h"

namespace mova::cuda_emulator {
namespace {

constexpr size_t kAlignment = 256;  // cudaMalloc's guarantee
// Protection changes in 2 MiB steps on a huge-page-backed arena: mprotect's cost grows with the
// page-table entries it rewrites, and every launch opens and closes the arena.
constexpr size_t kPage = size_t{2} << 20;
// Each device's allocations are counted against its capacity, in an address range this many
// times larger: a GPU maps physical pages into virtual addresses, so free memory is allocatable
// however live allocations lie. One range of the capacity's size would fail allocations that
// fit, by fragmentation a GPU does not have.
constexpr size_t kAddressSpacePerCapacity = 4;

size_t round_up(size_t v, size_t a) {
  return (v + a - 1) / a * a;
}

size_t configured_capacity() {
  const char* env = std::getenv("MOVA_CUDA_EMULATOR_MEMORY_MIB");
  const long mib = env ? std::strtol(env, nullptr, 10) : 4096;
  return static_cast<size_t>(mib > 0 ? mib : 4096) << 20;
}

struct sigaction previous_segv;

class Arena {
 public:
  Arena() : per_device_(configured_capacity()) {
    size_ = per_device_ * kAddressSpacePerCapacity *
            static_cast<size_t>(device_count() > 0 ? device_count() : 1);
    void* p =
        mmap(nullptr, size_ + kPage, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
      std::fprintf(stderr, "mova CUDA emulator: cannot reserve %zu bytes of device memory\n",
                   size_);
      std::abort();
    }
    // NOLINTNEXTLINE(performance-no-int-to-ptr): aligning the mapping to a huge page
    base_ = reinterpret_cast<char*>(round_up(reinterpret_cast<uintptr_t>(p), kPage));
    madvise(base_, size_, MADV_HUGEPAGE);  // a hint: without huge pages it is only slower
    free_[0] = size_;
    used_by_device_.assign(static_cast<size_t>(device_count() > 0 ? device_count() : 1), 0);
    install_fault_handler();
  }

  char* base() const { return base_; }
  size_t size() const { return size_; }
  size_t per_device() const { return per_device_; }
  int open_depth() const { return depth_; }

  void* allocate(size_t bytes, int device) {
    if (bytes > per_device_) return nullptr;  // also keeps round_up from overflowing
    const size_t need = round_up(bytes ? bytes : 1, kAlignment);
    if (used_by_device_[device] + need > per_device_) return nullptr;
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second < need) continue;
      const size_t offset = it->first, left = it->second - need;
      free_.erase(it);
      if (left) free_[offset + need] = left;
      used_[offset] = {need, bytes, device};
      used_by_device_[device] += need;
      raise_high_water(offset + need);
      if (!memory_only()) {
        const DeviceAccess open;
        std::memset(base_ + offset, 0xff, bytes);
      }
      return base_ + offset;
    }
    return nullptr;
  }

  bool release(void* p) {
    if (!in_arena(p)) return false;
    const auto it = used_.find(static_cast<size_t>(static_cast<char*>(p) - base_));
    if (it == used_.end()) return false;
    size_t offset = it->first, size = it->second.reserved;
    if (!memory_only()) {
      const DeviceAccess open;  // freed memory reads as NaN again (use after free)
      std::memset(base_ + offset, 0xff, it->second.requested);
    }
    used_by_device_[it->second.device] -= size;
    used_.erase(it);
    // Coalesce with the free neighbours.
    auto next = free_.lower_bound(offset);
    if (next != free_.end() && next->first == offset + size) {
      size += next->second;
      next = free_.erase(next);
    }
    if (next != free_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == offset) {
        offset = prev->first;
        size += prev->second;
        free_.erase(prev);
      }
    }
    free_[offset] = size;
    return true;
  }

  std::optional<Allocation> find(const void* p, size_t bytes) const {
    if (!in_arena(p)) return std::nullopt;
    const size_t offset = static_cast<size_t>(static_cast<const char*>(p) - base_);
    auto it = used_.upper_bound(offset);
    if (it == used_.begin()) return std::nullopt;
    --it;
    if (offset + bytes > it->first + it->second.requested) return std::nullopt;
    return Allocation{base_ + it->first, it->second.requested, it->second.device};
  }

  bool in_arena(const void* p) const {
    const char* c = static_cast<const char*>(p);
    return c >= base_ && c < base_ + size_;
  }

  size_t used(int device) const { return used_by_device_[device]; }

  void open() {
    if (depth_++ == 0 && high_water_) mprotect(base_, high_water_, PROT_READ | PROT_WRITE);
  }
  void close() {
    if (--depth_ == 0 && high_water_) mprotect(base_, high_water_, PROT_NONE);
  }

  // For the fault handler: the allocation at or before an address, without allocating.
  bool describe(const void* p, char* out, size_t n) const {
    if (!in_arena(p)) return false;
    const size_t offset = static_cast<size_t>(static_cast<const char*>(p) - base_);
    auto it = used_.upper_bound(offset);
    if (it != used_.begin()) {
      --it;
      std::snprintf(out, n,
                    "host code touched device memory at %p, byte %zu of a %zu-byte allocation on "
                    "device %d",
                    p, offset - it->first, it->second.requested, it->second.device);
    } else {
      std::snprintf(out, n, "host code touched device memory at %p (not allocated)", p);
    }
    return true;
  }

 private:
  struct Used {
    size_t reserved, requested;
    int device;
  };

  void raise_high_water(size_t end) {
    const size_t pages = round_up(end, kPage);
    if (pages <= high_water_) return;
    if (depth_ > 0) mprotect(base_ + high_water_, pages - high_water_, PROT_READ | PROT_WRITE);
    high_water_ = pages;
  }

  static void on_fault(int sig, siginfo_t* info, void* context);
  static void install_fault_handler() {
    struct sigaction sa {};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &previous_segv);
  }

  char* base_ = nullptr;
  size_t size_ = 0, per_device_ = 0, high_water_ = 0;
  int depth_ = 0;
  std::map<size_t, size_t> free_;  // offset → bytes
  std::map<size_t, Used> used_;    // offset → allocation
  std::vector<size_t> used_by_device_;
};

Arena& arena() {
  static Arena a;
  return a;
}

void Arena::on_fault(int sig, siginfo_t* info, void* context) {
  char message[256];
  if (arena().open_depth() == 0 && arena().describe(info->si_addr, message, sizeof message)) {
    const char prefix[] = "mova CUDA emulator: ";
    (void)!write(STDERR_FILENO, prefix, sizeof prefix - 1);
    (void)!write(STDERR_FILENO, message, std::strlen(message));
    (void)!write(STDERR_FILENO, "\n", 1);
  }
  // Hand the fault on: the previous handler, or the default action when the access retries.
  sigaction(SIGSEGV, &previous_segv, nullptr);
  if ((previous_segv.sa_flags & SA_SIGINFO) && previous_segv.sa_sigaction)
    previous_segv.sa_sigaction(sig, info, context);
  else if (previous_segv.sa_handler != SIG_DFL && previous_segv.sa_handler != SIG_IGN)
    previous_segv.sa_handler(sig);
}

}  // namespace

bool memory_only() {
  static const bool on = [] {
    const char* env = std::getenv("MOVA_CUDA_EMULATOR_MEMORY_ONLY");
    return env && std::strcmp(env, "0") != 0 && *env != '\0';
  }();
  return on;
}

std::recursive_mutex& gpu_mutex() {
  static std::recursive_mutex m;
  return m;
}

DeviceAccess::DeviceAccess() {
  arena().open();
}
DeviceAccess::~DeviceAccess() {
  arena().close();
}

std::optional<Allocation> find_allocation(const void* p, size_t bytes) {
  return arena().find(p, bytes);
}
bool in_arena(const void* p) {
  return arena().in_arena(p);
}
void* allocate(size_t bytes, int device) {
  return arena().allocate(bytes, device);
}
bool release(void* p) {
  return arena().release(p);
}
size_t used_bytes(int device) {
  return arena().used(device);
}
size_t capacity_bytes() {
  return arena().per_device();
}

}  // namespace mova::cuda_emulator
