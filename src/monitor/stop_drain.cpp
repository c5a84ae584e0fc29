// Which children stopped or continued? waitid answers one pending stop / continue at a time from
// any child (P_ALL): WNOWAIT peeks at it, and only a watched child's is then consumed through its
// pidfd. No WEXITED, so nothing is reaped here. Each call costs O(events) system calls; the kernel
// walks this process's children list on each, which is cheap and unavoidable without a scan of ours.
#include <cerrno>

#include <sys/wait.h>

#include <brood/error.hpp>

#include "monitor/monitor_state.hpp"

namespace brood::detail {
namespace {

constexpr wait_events stop_or_cont = wait_events::stop | wait_events::cont;

// The pid of the first child with a pending stop / continue, 0 if none. Leaves it pending.
pid_t peek_first_change() {
    for (;;) {
        siginfo_t info{};
        if (::waitid(P_ALL, 0, &info, WSTOPPED | WCONTINUED | WNOHANG | WNOWAIT) == 0) return info.si_pid;
        if (errno == ECHILD) return 0;
        if (errno != EINTR) throw_errno(errno, "waitid(P_ALL, WSTOPPED | WCONTINUED | WNOWAIT)");
    }
}

// Consumes the pending stop / continue of a child nobody here watches.
std::optional<wait_status> take_unwatched(pid_t pid) {
    for (;;) {
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WSTOPPED | WCONTINUED | WNOHANG) == 0)
            return info.si_pid == 0 ? std::nullopt : std::optional(wait_status::from_siginfo(info));
        if (errno == ECHILD) return std::nullopt;
        if (errno != EINTR) throw_errno(errno, "waitid(P_PID, WSTOPPED | WCONTINUED)");
    }
}

// The fallback: ask every watched child. Used only when the first pending change in the kernel's
// list is not ours to take, since waitid(P_ALL) cannot look past it.
void poll_every_watched(monitor_state& state) {
    state.children.for_each([&](std::uint64_t id, watched_child& w) {
        if (auto status = w.process.try_wait(stop_or_cont)) report_child(state, id, *status);
    });
}

}  // namespace

void drain_stops(monitor_state& state) {
    while (const pid_t pid = peek_first_change()) {
        if (const std::uint64_t id = state.children.find_pid(pid)) {
            // Empty when the child changed again or exited between the peek and now: then its
            // place in the list no longer tells us anything, so ask every watched child instead.
            if (auto status = state.children.find(id)->process.try_wait(stop_or_cont)) {
                report_child(state, id, *status);
                continue;
            }
        } else if (state.options.unwatched == unwatched_stops::consume) {
            if (auto status = take_unwatched(pid)) {
                monitor::event e;
                e.from = monitor::source::unwatched;
                e.pid = pid;
                e.status = *status;
                state.queue.push_back(std::move(e));
                continue;
            }
        }
        poll_every_watched(state);
        return;
    }
}

}  // namespace brood::detail
