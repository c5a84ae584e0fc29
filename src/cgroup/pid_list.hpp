// Reading cgroup.procs: one pid a line.
#pragma once

#include <filesystem>
#include <vector>

#include <sys/types.h>

namespace brood::detail {

// The pids listed in cgroup.procs of the cgroup directory open at dir (dir_path names it in
// errors). With missing_is_empty, a cgroup removed meanwhile (ENOENT, ENODEV) lists nothing.
std::vector<pid_t> read_cgroup_procs(int dir, const std::filesystem::path& dir_path, bool missing_is_empty = false);

}  // namespace brood::detail
