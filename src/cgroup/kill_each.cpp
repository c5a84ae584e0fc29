#include "cgroup/kill_each.hpp"

#include <set>

#include <fcntl.h>
#include <signal.h>

#include "cgroup/pid_list.hpp"

namespace brood::detail {

namespace {

// The processes of the cgroup at dir and of every cgroup below it.
void collect(const std::filesystem::path& dir, std::vector<pid_t>& pids) {
    // A child cgroup removed meanwhile holds no process.
    const unique_fd opened(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!opened) return;
    const auto own = read_cgroup_procs(opened.get(), dir, /*missing_is_empty=*/true);
    pids.insert(pids.end(), own.begin(), own.end());
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ignored))
        if (entry.is_directory(ignored)) collect(entry.path(), pids);
}

}  // namespace

void kill_each(const cgroup& group) {
    std::set<pid_t> signalled;
    for (bool found_new = true; found_new;) {
        found_new = false;
        std::vector<pid_t> pids;
        collect(group.path(), pids);
        for (const pid_t pid : pids) {
            // The pid was read from the cgroup just now and a process that exits leaves it, so
            // it is this cgroup's process (reuse in between would need the pid space to wrap).
            if (signalled.insert(pid).second) {
                ::kill(pid, SIGKILL);
                found_new = true;
            }
        }
    }
}

}  // namespace brood::detail
