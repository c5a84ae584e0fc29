#include "supervisor/instance_usage.hpp"

#include <system_error>

#include <unistd.h>

namespace brood::supervisor {
namespace {

const long clock_ticks = ::sysconf(_SC_CLK_TCK);

}  // namespace

instance_usage::reading instance_usage::read() const {
    reading now;
    if (statm_) now.rss_bytes = statm_->resident_bytes();
    if (stat_)
        if (const auto process = stat_->read()) {
            now.rss_bytes = process->rss_bytes;
            now.process_cpu = std::chrono::microseconds(process->cpu_ticks * 1'000'000 /
                                                        static_cast<std::uint64_t>(clock_ticks));
        }
    if (cgroup_) now.group = cgroup_->read();
    return now;
}

void instance_usage::process_started(pid_t pid) noexcept {
    process_ended();
    try {
        if (cgroup_) statm_ = proc::statm_file::open(pid);
        else stat_ = proc::stat_file::open(pid);
    } catch (const std::system_error&) {
        // EMFILE, ENOMEM: its usage is unknown, as for a process that vanished
    }
}

void instance_usage::process_ended() noexcept {
    stat_.reset();
    statm_.reset();
}

}  // namespace brood::supervisor
