// The signals brood run and brood watch receive in order to pass them on (by default): every catchable signal
// but SIGCHLD (the monitor's) and the synchronous faults (SIGSEGV, SIGBUS, SIGILL, SIGFPE,
// SIGTRAP, SIGSYS: they mean brood itself crashed and must keep their default action).
//
// They are blocked and read from a signalfd, never handled: nothing runs asynchronously, and as
// PID 1 of a namespace brood still receives them (the kernel drops a signal sent to such an init
// only when its disposition is the default and it is not blocked).
#pragma once

#include <optional>

#include <signal.h>
#include <sys/types.h>

#include <brood/monitor.hpp>
#include <brood/unique_fd.hpp>

namespace brood::cli {

// sender is 0 from the kernel or from outside brood's PID namespace.
using received_signal = monitor::signal_info;

// Every catchable signal but SIGCHLD and the synchronous faults: what brood run passes on.
sigset_t forwarded_signals();

class signal_inbox {
public:
    // Blocks the signals in the calling thread (before any thread or child exists, so every thread
    // inherits the mask; brood::command gives the child a clean mask) and opens the signalfd.
    signal_inbox();
    // The same for these signals only (brood top: SIGINT, SIGTERM, SIGWINCH...).
    explicit signal_inbox(const sigset_t& signals);
    ~signal_inbox();  // restores the signal mask
    signal_inbox(const signal_inbox&) = delete;
    signal_inbox& operator=(const signal_inbox&) = delete;

    int fd() const noexcept { return fd_.get(); }
    // The next pending signal, nullopt when none is.
    std::optional<received_signal> next();

private:
    sigset_t previous_mask_;
    unique_fd fd_;
};

// Whether a received signal should be passed on. Not when the kernel generated it (a terminal's
// ^C or SIGWINCH, sent to the whole foreground process group, has reached the program already)
// nor when brood caused it itself (SIGPIPE from writing to a closed stderr).
bool should_forward(const received_signal& signal) noexcept;

}  // namespace brood::cli
