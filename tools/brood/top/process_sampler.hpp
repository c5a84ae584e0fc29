// brood top's CPU and RSS columns: each instance's process read from /proc/PID/stat, once a
// second while the view is open. CPU % is the CPU time the process spent between two samples over
// the wall time between them (100 = one core); its children are not counted.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>

#include <sys/types.h>

#include "top/instance_rows.hpp"

namespace brood::cli {

class process_sampler {
public:
    // Fills cpu_percent and rss_bytes of each row with a process; forgets processes gone.
    void sample(std::vector<instance_row>& rows, std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

private:
    struct reading {
        std::uint64_t start_time;  // with the pid, names one process: a reused pid is another
        std::uint64_t cpu_ticks;
        std::chrono::steady_clock::time_point at;
    };
    std::map<pid_t, reading> last_;
};

}  // namespace brood::cli
