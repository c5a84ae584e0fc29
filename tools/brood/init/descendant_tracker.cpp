#include "init/descendant_tracker.hpp"

#include <algorithm>
#include <vector>

#include <fmt/core.h>

#include <brood/error.hpp>
#include <brood/proc.hpp>

#include "common/descendants.hpp"

namespace brood::cli {

namespace {

// What a process runs now; "[comm]" when it has no command line (exited already, kernel thread).
std::vector<std::string> command_of(pid_t pid) {
    const std::optional<proc::process_info> info = proc::read_process(pid);
    if (!info) return {};
    if (!info->cmdline.empty()) return info->cmdline;
    return {"[" + info->comm + "]"};
}

}  // namespace

descendant_tracker::descendant_tracker(event_log& log) : log_(log) {
    int error = 0;
    connector_ = proc_connector::open(&error);
    if (!connector_)
        fmt::print(stderr,
                   "brood watch: --tree: the kernel's process events connector is not available here ({}); "
                   "descendants are reported only when brood reaps them as orphans\n",
                   errno_name(error));
}

void descendant_tracker::track_program(pid_t pid) {
    program_ = pid;
    parents_[pid] = 0;
}

void descendant_tracker::read_events() {
    std::vector<process_event> events;
    const bool complete = connector_->read(events);
    for (const process_event& e : events) {
        switch (e.what) {
            case process_event::kind::fork: {
                if (!parents_.contains(e.parent) || parents_.contains(e.pid)) break;
                parents_[e.pid] = e.parent;
                lifecycle_event started;
                started.what = lifecycle_event::kind::started;
                started.pid = e.pid;
                started.parent = e.parent;
                started.command = command_of(e.pid);
                log_.write(started);
                break;
            }
            case process_event::kind::exec: {
                if (!parents_.contains(e.pid) || e.pid == program_) break;
                lifecycle_event exec;
                exec.what = lifecycle_event::kind::exec;
                exec.pid = e.pid;
                exec.command = command_of(e.pid);
                log_.write(exec);
                break;
            }
            case process_event::kind::exit: {
                const auto tracked = parents_.find(e.pid);
                if (tracked == parents_.end() || e.pid == program_) break;
                const pid_t parent = tracked->second;
                parents_.erase(tracked);
                recent_exits_[next_recent_++ % recent_exits_.size()] = e.pid;
                report_exit(e.pid, parent, wait_status::from_wait(e.raw_status));
                break;
            }
        }
    }
    if (!complete) rescan();
}

void descendant_tracker::orphan_event(pid_t pid, const wait_status& status) {
    if (!status.terminal()) {
        lifecycle_event e = lifecycle_event::from_status(pid, status);
        if (const auto tracked = parents_.find(pid); tracked != parents_.end()) e.parent = tracked->second;
        log_.write(e);
        return;
    }
    if (const auto tracked = parents_.find(pid); tracked != parents_.end()) {
        const pid_t parent = tracked->second;
        parents_.erase(tracked);
        lifecycle_event e = lifecycle_event::from_status(pid, status);
        e.parent = parent;
        e.adopted = true;
        log_.write(e);
        return;
    }
    if (recently_reported(pid)) return;
    lifecycle_event e = lifecycle_event::from_status(pid, status);
    e.adopted = true;
    log_.write(e);
}

void descendant_tracker::report_exit(pid_t pid, pid_t parent, const wait_status& status) {
    lifecycle_event e = lifecycle_event::from_status(pid, status);
    e.parent = parent;
    log_.write(e);
}

bool descendant_tracker::recently_reported(pid_t pid) const {
    return connector_ && std::find(recent_exits_.begin(), recent_exits_.end(), pid) != recent_exits_.end();
}

// Events were lost: find the descendants that are not tracked yet by walking /proc from brood.
void descendant_tracker::rescan() {
    lifecycle_event lost;
    lost.what = lifecycle_event::kind::lost;
    lost.pid = proc_self_pid();
    log_.write(lost);
    std::vector<std::pair<pid_t, pid_t>> pending;
    for (pid_t child : proc::children_of(proc_self_pid())) pending.emplace_back(child, proc_self_pid());
    while (!pending.empty()) {
        const auto [pid, parent] = pending.back();
        pending.pop_back();
        if (!parents_.contains(pid)) {
            parents_[pid] = parent;
            lifecycle_event started;
            started.what = lifecycle_event::kind::started;
            started.pid = pid;
            started.parent = parent;
            started.command = command_of(pid);
            log_.write(started);
        }
        for (pid_t child : proc::children_of(pid)) pending.emplace_back(child, pid);
    }
}

}  // namespace brood::cli
