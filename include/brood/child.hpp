// child: the move-only owner of one child process (its pid and, on Linux >= 5.3, a pidfd).
//
// Usage:
//   brood::child c = brood::command("sleep").arg("10").spawn();
//   c.stop();                                   // SIGSTOP, through the pidfd
//   auto ev = c.wait(brood::wait_events::all);  // stopped by SIGSTOP
//   c.terminate(std::chrono::seconds(2));       // SIGTERM, up to 2 s, then SIGKILL; always reaped
//
// Thread safety: one child object is not safe to use from two threads at once; distinct objects are
// independent. Signals go through the pidfd, so a recycled pid is never hit; once the child is reaped
// send_signal() returns false instead of signalling whoever has the pid now.
//
// Destruction never leaves a zombie. What happens to a still-running child is its drop_policy:
// kill (default: SIGKILL, then reap), terminate (SIGTERM, wait up to grace, SIGKILL, reap) or
// detach (brood's reaper thread reaps it whenever it exits; the child keeps running).
//
// A handle copied into a forked child process (brood::fork_here) is inert there: it belongs to the
// process that created it, so the copy neither signals nor waits; it only closes its fds.
#pragma once

#include <chrono>
#include <optional>

#include <sys/types.h>

#include <brood/status.hpp>
#include <brood/unique_fd.hpp>

namespace brood {

// Which events a wait reports: the WEXITED / WSTOPPED (WUNTRACED) / WCONTINUED model.
enum class wait_events : unsigned { exit = 1, stop = 2, cont = 4, all = 7 };
constexpr wait_events operator|(wait_events a, wait_events b) noexcept {
    return static_cast<wait_events>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr bool has(wait_events set, wait_events e) noexcept {
    return (static_cast<unsigned>(set) & static_cast<unsigned>(e)) != 0;
}

struct drop_policy {
    enum class action { kill, terminate, detach };
    action what = action::kill;
    std::chrono::milliseconds grace{5000};  // used by terminate

    static drop_policy kill() noexcept { return {action::kill, {}}; }
    static drop_policy terminate(std::chrono::milliseconds grace) noexcept { return {action::terminate, grace}; }
    static drop_policy detach() noexcept { return {action::detach, {}}; }
};

namespace detail {
struct child_state;
}

class child {
public:
    child() noexcept;
    child(child&& other) noexcept;
    child& operator=(child&& other) noexcept;
    child(const child&) = delete;
    child& operator=(const child&) = delete;
    ~child();

    // Adopts a child this process created by other means (a raw fork, a clone of its own). Opens a
    // pidfd for it unless given one: race-free, as an unreaped child's pid cannot be reused.
    static child adopt(pid_t pid, unique_fd pidfd = unique_fd());

    explicit operator bool() const noexcept { return pid_ != 0; }
    pid_t pid() const noexcept { return pid_; }
    int pidfd() const noexcept { return pidfd_.get(); }  // -1 when the kernel has no pidfd
    // The terminal status once the child has been reaped (by this handle or brood::wait_child).
    std::optional<wait_status> exit_status() const noexcept;

    // Blocks until an event of the given kinds. Exits are reaped; a stop or continue is reported once.
    // After the child was reaped, returns its exit status again. EINTR is retried.
    wait_status wait(wait_events events = wait_events::exit);
    // Does not block: nullopt when nothing of the given kinds has happened yet.
    std::optional<wait_status> try_wait(wait_events events = wait_events::exit);
    // Waits up to timeout for the child to end (readiness of the pidfd); nullopt on timeout.
    // For stop/continue with deadlines use brood::monitor.
    std::optional<wait_status> wait_for(std::chrono::milliseconds timeout);

    // Sends a signal through the pidfd. Returns false when the child is already gone (reaped or
    // exited and not yet reaped counts as alive); throws std::system_error for other failures.
    bool send_signal(int signal);
    bool stop() { return send_signal(SIGSTOP); }
    bool resume() { return send_signal(SIGCONT); }
    bool kill() { return send_signal(SIGKILL); }
    // SIGTERM (and SIGCONT, so a stopped child can act on it), wait up to grace, then SIGKILL.
    // Always returns the reaped status.
    wait_status terminate(std::chrono::milliseconds grace = std::chrono::milliseconds(5000));

    void set_drop_policy(drop_policy policy) noexcept { policy_ = policy; }
    drop_policy get_drop_policy() const noexcept { return policy_; }
    // Gives the child to brood's reaper thread now and empties this handle.
    void detach();

    // Parent ends of pipes asked for with stdio::pipe() (empty otherwise). Take them to own them.
    unique_fd& stdin_pipe() { return stdin_pipe_; }
    unique_fd& stdout_pipe() { return stdout_pipe_; }
    unique_fd& stderr_pipe() { return stderr_pipe_; }

private:
    child(pid_t pid, unique_fd pidfd);
    bool owned_here() const noexcept;
    void need_handle() const;  // throws std::logic_error for an empty handle
    detail::child_state& owned_state(const char* action) const;
    std::optional<wait_status> wait_once(wait_events events, bool block);
    void take(child& other) noexcept;
    void release_child() noexcept;
    void forget() noexcept;  // empties the handle: closes its fds, leaves the process and the state be

    // What a copy of this handle in a forked child reads is in the handle itself. The state, where a
    // selector wait in another thread leaves the status, is in memory a fork wipes: a child does not
    // own its parent's children, and the parent, writing the state of a child it just forked, does
    // not copy a page the child still shares.
    pid_t pid_ = 0;
    pid_t owner_ = 0;  // getpid() of the process that created the child
    unique_fd pidfd_;
    unique_fd stdin_pipe_, stdout_pipe_, stderr_pipe_;
    drop_policy policy_{};
    detail::child_state* state_ = nullptr;
};

}  // namespace brood
