// What an instance's process and cgroup use now, read from files held open so that a status or a
// scrape of many instances costs one pread per file (max_fds in all). With a cgroup: its cgroup's
// cpu.stat and, with a memory controller, memory.current (opened with the cgroup, closed before it
// is removed), and its leader's /proc/PID/statm for its resident set; without: its leader's
// /proc/PID/stat, for its resident set and CPU time. The process's file is opened as each process
// starts, where brood's fd reserve is checked (supervisor/fd_limit.hpp), so that a status never
// takes fds from that reserve, and closed when it ends. statm, not stat, where the cgroup gives the
// CPU time: the kernel writes it in a third of the time, which is most of a scrape's.
//
//   usage.process_started(pid);  ...  usage.read();  ...  usage.process_ended();
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include <sys/types.h>

#include <brood/cgroup.hpp>
#include <brood/proc.hpp>

#include "supervisor/cgroup_usage.hpp"

namespace brood::supervisor {

class instance_usage {
public:
    static constexpr unsigned max_fds = 3;

    struct reading {
        std::optional<std::uint64_t> rss_bytes;               // the leader's; none while none runs
        std::optional<std::chrono::microseconds> process_cpu; // the leader's, without a cgroup
        cgroup_usage group;                                   // empty without a cgroup
    };
    reading read() const;

    // A file that cannot be opened (brood out of fds) leaves that figure unknown for this run:
    // the process runs all the same. Its cgroup, if any, must have been made already.
    void process_started(pid_t pid) noexcept;
    void process_ended() noexcept;
    void cgroup_made(const cgroup& group) { cgroup_.emplace(group); }
    void cgroup_left() noexcept { cgroup_.reset(); }

private:
    std::optional<proc::stat_file> stat_;    // without a cgroup
    std::optional<proc::statm_file> statm_;  // with one
    std::optional<cgroup_usage_files> cgroup_;
};

}  // namespace brood::supervisor
