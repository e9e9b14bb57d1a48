#include "runtime/cpu_count.h"

#include <sched.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace mova {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  return s;
}

std::optional<long long> parse_integer(std::string_view s) {
  s = trim(s);
  long long v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<int> cpus_from_quota(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  const long long cpus = (quota + period - 1) / period;
  return static_cast<int>(std::clamp<long long>(cpus, 1, 1 << 20));
}

std::string read_file(const char* path) {
  std::ifstream in(path);
  return in ? std::string(std::istreambuf_iterator<char>(in), {}) : std::string();
}

}  // namespace

std::string cgroup_path(std::string_view proc_self_cgroup, std::string_view controller) {
  size_t at = 0;
  while (at < proc_self_cgroup.size()) {
    size_t end = proc_self_cgroup.find('\n', at);
    if (end == std::string_view::npos) end = proc_self_cgroup.size();
    const std::string_view line = proc_self_cgroup.substr(at, end - at);
    at = end + 1;
    // "ID:CONTROLLERS:PATH"; v2's unified line is "0::PATH".
    const size_t c1 = line.find(':'), c2 = line.find(':', c1 + 1);
    if (c1 == std::string_view::npos || c2 == std::string_view::npos) continue;
    const std::string_view list = line.substr(c1 + 1, c2 - c1 - 1);
    bool match = controller.empty() && line.substr(0, c1) == "0" && list.empty();
    for (size_t i = 0; !controller.empty() && !match && i <= list.size();) {
      size_t comma = list.find(',', i);
      if (comma == std::string_view::npos) comma = list.size();
      match = list.substr(i, comma - i) == controller;
      i = comma + 1;
    }
    if (!match) continue;
    std::string path(line.substr(c2 + 1));
    if (path.empty() || path[0] != '/' || path == "/" || path.find("/..") != std::string::npos)
      return "";
    return path;
  }
  return "";
}

std::optional<int> cpus_from_cpu_max(std::string_view cpu_max) {
  cpu_max = trim(cpu_max);
  const size_t space = cpu_max.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const auto quota = parse_integer(cpu_max.substr(0, space));  // "max" does not parse
  const auto period = parse_integer(cpu_max.substr(space + 1));
  if (!quota || !period) return std::nullopt;
  return cpus_from_quota(*quota, *period);
}

std::optional<int> cpus_from_cfs(std::string_view quota_us, std::string_view period_us) {
  const auto quota = parse_integer(quota_us);
  const auto period = parse_integer(period_us);
  if (!quota || !period) return std::nullopt;
  return cpus_from_quota(*quota, *period);
}

int available_cpus() {
  int cpus = 0;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
  if (cpus <= 0) cpus = static_cast<int>(std::thread::hardware_concurrency());
  cpus = std::max(cpus, 1);
  // The process's own group (a systemd service's CPUQuota=) and each group above it, up to
  // what the process sees as the root (a container's own group), in cgroup v2 and in v1's cpu
  // hierarchy; the tightest quota holds.
  std::optional<int> quota;
  const auto tighten = [&](std::optional<int> q) {
    if (q) quota = quota ? std::min(*quota, *q) : *q;
  };
  const std::string self = read_file("/proc/self/cgroup");
  for (std::string group = cgroup_path(self, "");; group.resize(group.rfind('/'))) {
    tighten(cpus_from_cpu_max(read_file(("/sys/fs/cgroup" + group + "/cpu.max").c_str())));
    if (group.empty()) break;
  }
  for (std::string group = cgroup_path(self, "cpu");; group.resize(group.rfind('/'))) {
    const std::string dir = "/sys/fs/cgroup/cpu" + group;
    tighten(cpus_from_cfs(read_file((dir + "/cpu.cfs_quota_us").c_str()),
                          read_file((dir + "/cpu.cfs_period_us").c_str())));
    if (group.empty()) break;
  }
  return quota ? std::min(cpus, *quota) : cpus;
}

}  // namespace mova
