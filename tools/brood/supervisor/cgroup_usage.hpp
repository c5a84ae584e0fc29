// What an instance's cgroup has used: memory now (memory.current) and CPU time so far (cpu.stat's
// usage_usec), for status and metrics. Everything in the cgroup counts, not just the leader.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include <brood/cgroup.hpp>

namespace brood::supervisor {

struct cgroup_usage {
    std::optional<std::uint64_t> memory_bytes;           // no memory controller: none
    std::optional<std::chrono::microseconds> cpu_time;   // cpu.stat has usage_usec without a controller
};

cgroup_usage read_cgroup_usage(const cgroup& group);

}  // namespace brood::supervisor
