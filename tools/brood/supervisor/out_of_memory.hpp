// Whether the OOM killer ended a run: the count of oom_kill in the instance's cgroup's
// memory.events (cgroup v2, memory controller), read when the run starts and when it ends. The
// count only grows while the cgroup lives, and an instance keeps its cgroup across runs until a
// cgroup.kill, so the difference is this run's.
//
//   const auto before = oom_kills(group.fd());        // at the start
//   ...
//   const std::string why = out_of_memory_cause(before, oom_kills(group.fd()), program);
//   // "out of memory: memory_max 256M", or "" when no process of the run was killed for memory
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "supervisor/config.hpp"

namespace brood::supervisor {

// The oom_kill count in memory.events of the cgroup directory open at cgroup_dir_fd (opened from
// it: no walk of the whole path at each start); nullopt when there is no such file (no memory
// controller there) or no such line.
std::optional<std::uint64_t> oom_kills(int cgroup_dir_fd);
// The same, from the file's text ("low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n...").
std::optional<std::uint64_t> oom_kills_in(std::string_view memory_events);

// "out of memory: memory_max 256M" ("out of memory" without a memory_max: the machine's own
// limit, or memory_high's) when after is above before; "" otherwise, or when either is unknown.
std::string out_of_memory_cause(std::optional<std::uint64_t> before, std::optional<std::uint64_t> after,
                                const program_config& program);

}  // namespace brood::supervisor
