// How many CPUs this process may use: the affinity mask (taskset, a container's cpuset),
// capped by a CPU quota (a container's --cpus, a systemd CPUQuota=), which the machine's
// processor count knows nothing about. Threads beyond it would only take turns, and a pool
// whose idle threads spin (thread_pool.h) would steal time from the ones with work.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mova {

// At least 1.
int available_cpus();

// The CPUs a cgroup v2 `cpu.max` ("QUOTA PERIOD" in µs, or "max PERIOD") allows, rounded up;
// nullopt when unlimited or unreadable.
std::optional<int> cpus_from_cpu_max(std::string_view cpu_max);
// The same from cgroup v1's cpu.cfs_quota_us (-1: unlimited) and cpu.cfs_period_us.
std::optional<int> cpus_from_cfs(std::string_view quota_us, std::string_view period_us);
// The process's group from /proc/self/cgroup: cgroup v2's ("0::/PATH") for an empty
// `controller`, else the v1 hierarchy's that lists it ("4:cpu,cpuacct:/PATH"). "/PATH", or ""
// for the root or when there is none.
std::string cgroup_path(std::string_view proc_self_cgroup, std::string_view controller);

}  // namespace mova
