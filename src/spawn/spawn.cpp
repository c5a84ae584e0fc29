// command::spawn: prepare in the parent, clone, read the child's report, hand over a child handle.
#include <cerrno>
#include <csignal>

#include <sys/wait.h>
#include <unistd.h>

#include "child/birth_lock.hpp"
#include "spawn/spawn_plan.hpp"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace brood::detail {
namespace {

// Reaps a child that failed before exec (it has exited, or is about to: CLONE_VFORK returned when it
// released our memory in exit). ECHILD means it is already gone (SIGCHLD ignored: auto-reaped).
void reap(pid_t pid, int pidfd) noexcept {
    siginfo_t info{};
    for (;;) {
        const int r = pidfd >= 0 ? ::waitid(static_cast<idtype_t>(P_PIDFD), static_cast<id_t>(pidfd), &info, WEXITED)
                                 : ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED);
        if (r == 0 || errno != EINTR) return;
    }
}

}  // namespace

child spawn_command(const command& cmd, const stdio& in, const stdio& out, const stdio& err,
                    const launcher* through) {
    spawn_plan prepared(cmd, in, out, err);
    child_report report;
    prepared.plan().report = &report;

    const int cgroup_fd = detail_spawn_access::cgroup_fd(cmd);
    int raw_pidfd = -1;
    // Until the handle is registered, no reap by selector may take the child (birth_lock.hpp).
    birth_scope birth;
    const pid_t pid = through != nullptr ? through->launch(through->context, prepared.plan(), cgroup_fd, raw_pidfd)
                                         : launch_child(prepared.plan(), cgroup_fd, raw_pidfd);
    if (pid < 0) {
        const int error = -pid;
        std::string detail;
        if (cgroup_fd >= 0) {
            detail = "into cgroup fd " + std::to_string(cgroup_fd);
            if (error == ENOSYS || error == EPERM) detail += " (needs clone3, refused by this kernel or sandbox)";
        }
        throw spawn_error(cmd.program(), spawn_stage::clone, error, std::move(detail));
    }
    unique_fd pidfd(raw_pidfd);

    if (report.stage != child_report::no_failure) {
        reap(pid, pidfd.get());
        throw spawn_error(cmd.program(), static_cast<spawn_stage>(report.stage), report.error,
                          prepared.failure_detail(report));
    }

    prepared.close_child_ends();
    child process;
    try {
        process = child::adopt(pid, std::move(pidfd));
    } catch (...) {
        // No handle could be made (out of memory, out of fds for a pidfd): leave no child behind.
        // No reap by selector can have taken it (the birth is still held), so the pid is still ours.
        ::kill(pid, SIGKILL);
        reap(pid, -1);
        throw;
    }
    process.set_drop_policy(detail_spawn_access::policy(cmd));
    process.stdin_pipe() = std::move(prepared.parent_end(0));
    process.stdout_pipe() = std::move(prepared.parent_end(1));
    process.stderr_pipe() = std::move(prepared.parent_end(2));
    return process;
}

}  // namespace brood::detail

namespace brood {

child command::spawn() const { return detail::spawn_command(*this, stdin_, stdout_, stderr_); }

}  // namespace brood
