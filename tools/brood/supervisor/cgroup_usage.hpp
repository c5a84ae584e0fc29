// What an instance's cgroup has used: memory now (memory.current) and CPU time so far (cpu.stat's
// usage_usec), for status and metrics. Everything in the cgroup counts, not just the leader. Both
// files are held open, so that each reading is one pread per file.
//
//   const cgroup_usage_files files(group);   // two fds, for as long as the cgroup is used
//   const cgroup_usage now = files.read();
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>

#include <brood/cgroup.hpp>
#include <brood/unique_fd.hpp>

namespace brood::supervisor {

struct cgroup_usage {
    std::optional<std::uint64_t> memory_bytes;           // no memory controller: none
    std::optional<std::chrono::microseconds> cpu_time;   // cpu.stat has usage_usec without a controller
};

class cgroup_usage_files {
public:
    // A file that cannot be opened (no memory controller, no fd left) reads as none.
    explicit cgroup_usage_files(const cgroup& group);
    cgroup_usage read() const;

private:
    unique_fd memory_current_;
    unique_fd cpu_stat_;
};

}  // namespace brood::supervisor
