// What an instance's process and cgroup use now, read from files held open so that a status or a
// scrape of many instances costs one pread per file: its leader's /proc/PID/stat (one fd while it
// runs) and its cgroup's cpu.stat and memory.current (two while it has a cgroup), max_fds in all.
// The instance opens them as it starts, where brood's fd reserve is checked (supervisor/fd_limit.hpp),
// so that a status never takes fds from that reserve: the stat file as each process starts, closed
// when it ends; the cgroup's when the cgroup is made, closed before it is removed.
//
//   usage.process_started(pid);  ...  usage.read();  ...  usage.process_ended();
#pragma once

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
        std::optional<proc::process_info> process;  // none while no process runs
        cgroup_usage group;                          // empty without a cgroup
    };
    reading read() const;

    // A file that cannot be opened (brood out of fds) leaves that figure unknown for this run:
    // the process runs all the same.
    void process_started(pid_t pid) noexcept;
    void process_ended() noexcept { stat_.reset(); }
    void cgroup_made(const cgroup& group) { cgroup_.emplace(group); }
    void cgroup_left() noexcept { cgroup_.reset(); }

private:
    std::optional<proc::stat_file> stat_;
    std::optional<cgroup_usage_files> cgroup_;
};

}  // namespace brood::supervisor
