// The loop brood run and brood watch share: spawn the program, pass signals on, reap every zombie,
// report events, and when the program ends, terminate what it left behind.
//
// Phases, as in tini: signals are blocked and read from a signalfd; brood becomes a subreaper
// (unless it is PID 1, or told not to); the program is spawned; then one event loop (brood::monitor:
// pidfd, signalfd, timerfd, epoll) forwards each signal, reaps each exit and reports each event.
// No timer runs while the program lives: brood sleeps until something happens.
//
// When the program ends, every remaining descendant gets SIGTERM; brood waits for them, up to
// grace, reaping as they go; then SIGKILL for those left. Only then does it return.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace brood::cli {

class event_log;

struct init_options {
    std::vector<std::string> argv;          // PROGRAM [ARGS...]
    bool subreaper = true;                  // adopt orphans (PID 1 always does)
    bool to_group = false;                  // the program leads its own process group; signals go to it
    int death_signal = 0;                   // the program gets it if brood dies (0: none)
    std::chrono::milliseconds grace{5000};  // between SIGTERM and SIGKILL for what is left behind
    bool report_stops = false;              // stopped / continued events of the program
    bool report_forwarding = false;         // each signal passed on to the program
    bool track_tree = false;                // every descendant's lifecycle (brood watch --tree)
    event_log* log = nullptr;               // where events go; none when null
    // Called with brood's exit code, in place of returning it, as soon as the program has ended and
    // nothing is left to reap or report; it must not return. brood run exits the process there:
    // exit_group closes the loop's file descriptors, and the signal mask dies with it, so the dozen
    // system calls that would tear them down one by one are not on the way to its exit.
    std::function<void(int code)> leave;
};

// Returns brood's exit code: the program's code, 128+N when signal N killed it, 126/127 when it
// could not be executed (after a one-line message on stderr).
int run_as_init(const init_options& options);

}  // namespace brood::cli
