// Signals read from one signalfd, never from a handler: SIGCHLD, which tells the monitor of stops,
// continues and orphans' exits (they have no pidfd to poll), and the signals a program asked the
// monitor to receive for it (monitor::receive_signals), so that it needs no signalfd of its own.
#pragma once

#include <cstddef>
#include <span>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/types.h>

#include <brood/monitor.hpp>
#include <brood/unique_fd.hpp>

namespace brood::detail {

// Throws std::logic_error when SIGCHLD's disposition would defeat the monitor: SIG_IGN or
// SA_NOCLDWAIT (the kernel reaps children itself, statuses are lost), or, when stops are wanted,
// SA_NOCLDSTOP (no SIGCHLD is sent for a stop or continue).
void check_sigchld_disposition(bool need_stops);

// Blocks its signals in the creating thread and reads them from a signalfd. SIGCHLD may be read by
// one source per process only: a process-directed signal is read by one reader.
class signal_source {
public:
    // With read_sigchld, claims SIGCHLD (std::logic_error if another source has it).
    explicit signal_source(bool read_sigchld);
    signal_source(const signal_source&) = delete;
    signal_source& operator=(const signal_source&) = delete;
    // Unblocks what it blocked (when destroyed on the same thread).
    ~signal_source();

    // Reads these too (SIGCHLD, SIGKILL and SIGSTOP excepted), from the same fd.
    void add(const sigset_t& set);
    bool reads_sigchld() const noexcept { return reads_sigchld_; }

    struct note {
        pid_t pid;
        int code;  // CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_STOPPED, CLD_TRAPPED, CLD_CONTINUED
    };
    int fd() const noexcept { return fd_.get(); }
    // Reads every pending signal: call it before waiting for the changes, so that a change after the
    // wait raises a new SIGCHLD and none is missed. Keeps up to notes.size() of the SIGCHLDs read
    // and returns how many were read; only hints, as a pending SIGCHLD swallows the ones raised
    // after it. Every other signal read is appended to others.
    std::size_t drain(std::span<note> notes, std::vector<monitor::signal_info>& others);

private:
    // Blocks set in this thread; returns what was not blocked before.
    static sigset_t block(const sigset_t& set);

    unique_fd fd_;
    sigset_t reading_;        // the signalfd's mask
    sigset_t blocked_here_;   // what this source blocked, which was not blocked before
    bool reads_sigchld_;
    std::thread::id thread_;
};

}  // namespace brood::detail
