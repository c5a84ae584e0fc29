#include "supervisor/instance_usage.hpp"

#include <system_error>

namespace brood::supervisor {

instance_usage::reading instance_usage::read() const {
    return {stat_ ? stat_->read() : std::nullopt, cgroup_ ? cgroup_->read() : cgroup_usage{}};
}

void instance_usage::process_started(pid_t pid) noexcept {
    try {
        stat_ = proc::stat_file::open(pid);
    } catch (const std::system_error&) {
        stat_.reset();  // EMFILE, ENOMEM: its usage is unknown, as for a process that vanished
    }
}

}  // namespace brood::supervisor
