// SIGCHLD read from a signalfd, never from a handler: what the monitor uses to learn of stops,
// continues and orphans' exits, which have no pidfd to poll.
#pragma once

#include <cstddef>
#include <span>
#include <thread>

#include <sys/types.h>

#include <brood/unique_fd.hpp>

namespace brood::detail {

// Throws std::logic_error when SIGCHLD's disposition would defeat the monitor: SIG_IGN or
// SA_NOCLDWAIT (the kernel reaps children itself, statuses are lost), or, when stops are wanted,
// SA_NOCLDSTOP (no SIGCHLD is sent for a stop or continue).
void check_sigchld_disposition(bool need_stops);

// Blocks SIGCHLD in the creating thread (unless it is already) and opens a signalfd for it. Only one
// may exist per process: a process-directed signal is read by one reader only.
class sigchld_source {
public:
    sigchld_source();
    sigchld_source(const sigchld_source&) = delete;
    sigchld_source& operator=(const sigchld_source&) = delete;
    // Unblocks SIGCHLD again if the constructor blocked it (and runs on the same thread).
    ~sigchld_source();

    struct note {
        pid_t pid;
        int code;  // CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_TRAPPED, CLD_CONTINUED
    };
    int fd() const noexcept { return fd_.get(); }
    // Reads every pending SIGCHLD: call it before waiting for the changes, so that a change after
    // the wait raises a new one and none is missed. Keeps up to notes.size() of what was read and
    // returns how many were read. Only hints: a pending SIGCHLD swallows the ones raised after it.
    std::size_t drain(std::span<note> notes) noexcept;

private:
    unique_fd fd_;
    bool restore_mask_ = false;
    std::thread::id thread_;
};

}  // namespace brood::detail
