// What brood says of one instance in both its status (supervisor/status_report.hpp) and its
// metrics (http/metrics.hpp), gathered once so that the two cannot disagree. The names are views
// into the instance: use the figures before it changes.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

#include <sys/types.h>

#include "supervisor/state_machine.hpp"

namespace brood::supervisor {

struct instance_figures {
    std::string_view program;
    unsigned index = 0;
    std::string_view name;
    state current = state::stopped;
    pid_t pid = 0;  // 0 when none runs
    unsigned restarts = 0;
    std::optional<std::chrono::milliseconds> uptime;  // while a process runs
    std::optional<int> last_exit_code;                // as a shell shows it, after the first end
    std::optional<std::uint64_t> rss_bytes;           // the leader's resident set
    // The instance's cgroup's when it has one (every process in it), else its leader's.
    std::optional<std::uint64_t> memory_bytes;
    std::optional<double> cpu_seconds;
    std::optional<std::uint64_t> health_checks_failed;  // with a health check: failures in every run
};

}  // namespace brood::supervisor
