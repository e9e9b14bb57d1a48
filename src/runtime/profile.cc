#include "runtime/profile.h"

#include <mutex>

namespace mova::profile {
namespace {

std::atomic<bool> g_enabled{false};
std::mutex g_mutex;
Totals g_totals[static_cast<int>(Category::kCount)];

}  // namespace

void enable(bool on) {
  g_enabled.store(on, std::memory_order_relaxed);
}
bool enabled() {
  return g_enabled.load(std::memory_order_relaxed);
}

void reset() {
  std::lock_guard<std::mutex> lock(g_mutex);
  for (auto& t : g_totals) t = Totals{};
}

Totals totals(Category c) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return g_totals[static_cast<int>(c)];
}

Scope::Scope(Category c, double flops) : category_(c), flops_(flops), active_(enabled()) {
  if (active_) start_ = std::chrono::steady_clock::now();
}

Scope::~Scope() {
  if (!active_) return;
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::lock_guard<std::mutex> lock(g_mutex);
  g_totals[static_cast<int>(category_)].flops += flops_;
  g_totals[static_cast<int>(category_)].seconds += s;
}

}  // namespace mova::profile
