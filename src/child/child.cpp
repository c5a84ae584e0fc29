#include <brood/child.hpp>

#include <cerrno>
#include <stdexcept>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "child/child_state.hpp"
#include "child/detached_reaper.hpp"
#include "child/pidfd.hpp"
#include "child/registry.hpp"

namespace brood {
namespace {

int wait_flags(wait_events events) noexcept {
    return (has(events, wait_events::exit) ? WEXITED : 0) | (has(events, wait_events::stop) ? WSTOPPED : 0) |
           (has(events, wait_events::cont) ? WCONTINUED : 0);
}

detail::child_state& need(const std::unique_ptr<detail::child_state>& state) {
    if (!state) throw std::logic_error("brood::child: the handle is empty (moved from, detached or default)");
    return *state;
}

// A handle copied into a forked child belongs to the process that created it.
bool owned_here(const detail::child_state& state) noexcept { return state.owner == ::getpid(); }

// One waitid on the child; nullopt when nothing happened (WNOHANG). Records a terminal status.
std::optional<wait_status> wait_once(detail::child_state& state, wait_events events, bool block) {
    if (auto done = detail::delivered_status(&state)) return done;
    if (!owned_here(state))
        throw std::logic_error("brood::child: pid " + std::to_string(state.pid) +
                               " belongs to the process that created it, not to this forked copy");
    const idtype_t type = state.pidfd ? P_PIDFD : P_PID;
    const id_t id = state.pidfd ? static_cast<id_t>(state.pidfd.get()) : static_cast<id_t>(state.pid);
    siginfo_t info{};
    for (;;) {
        if (::waitid(type, id, &info, wait_flags(events) | (block ? 0 : WNOHANG)) == 0) break;
        if (errno == EINTR) continue;
        if (errno == ECHILD) {
            // Someone reaped it by selector (wait_child, reap_orphans): the registry has the status,
            // or will have it in a moment if that happened in another thread just now.
            if (auto done = detail::await_delivered(&state, std::chrono::seconds(1))) return done;
        }
        throw_errno(errno, "waitid for child " + std::to_string(state.pid));
    }
    if (info.si_pid == 0) return std::nullopt;
    const wait_status status = wait_status::from_siginfo(info);
    if (status.terminal() && !detail::deliver_status(state.pid, status)) state.final_status = status;
    return status;
}

}  // namespace

child::child() noexcept = default;
child::child(std::unique_ptr<detail::child_state> state) noexcept : state_(std::move(state)) {}
child::child(child&&) noexcept = default;
child& child::operator=(child&& other) noexcept {
    if (this != &other) {
        release_child();
        state_ = std::move(other.state_);
    }
    return *this;
}
child::~child() { release_child(); }

child child::adopt(pid_t pid) { return child(detail::make_child_state(pid, unique_fd())); }

pid_t child::pid() const noexcept { return state_ ? state_->pid : 0; }
int child::pidfd() const noexcept { return state_ ? state_->pidfd.get() : -1; }

std::optional<wait_status> child::exit_status() const noexcept {
    return state_ ? detail::delivered_status(state_.get()) : std::nullopt;
}

wait_status child::wait(wait_events events) { return *wait_once(need(state_), events, true); }

std::optional<wait_status> child::try_wait(wait_events events) { return wait_once(need(state_), events, false); }

std::optional<wait_status> child::wait_for(std::chrono::milliseconds timeout) {
    auto& state = need(state_);
    if (auto done = detail::delivered_status(&state)) return done;
    if (!state.pidfd) {
        // No pidfd (kernel < 5.3): nothing to block on, so poll the status in small steps.
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        for (;;) {
            if (auto done = wait_once(state, wait_events::exit, false)) return done;
            if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
            ::usleep(1000);
        }
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd ready{state.pidfd.get(), POLLIN, 0};
        const int n = ::poll(&ready, 1, static_cast<int>(std::max<long long>(0, left.count())));
        if (n == -1 && errno != EINTR) throw_errno(errno, "poll on pidfd of child " + std::to_string(state.pid));
        if (n > 0) return wait_once(state, wait_events::exit, false);
        if (n == 0) return std::nullopt;
    }
}

bool child::send_signal(int signal) {
    auto& state = need(state_);
    if (detail::delivered_status(&state) || !owned_here(state)) return false;
    const int result = state.pidfd ? detail::signal_pidfd(state.pidfd.get(), signal) : ::kill(state.pid, signal);
    if (result == 0) return true;
    if (errno == ESRCH) return false;
    throw_errno(errno, "send signal " + std::to_string(signal) + " to child " + std::to_string(state.pid));
}

wait_status child::terminate(std::chrono::milliseconds grace) {
    auto& state = need(state_);
    if (auto done = detail::delivered_status(&state)) return *done;
    send_signal(SIGTERM);
    send_signal(SIGCONT);  // a stopped child cannot act on SIGTERM until continued
    if (auto done = wait_for(grace)) return *done;
    send_signal(SIGKILL);
    return wait();
}

void child::set_drop_policy(drop_policy policy) noexcept {
    if (state_) state_->policy = policy;
}
drop_policy child::get_drop_policy() const noexcept { return state_ ? state_->policy : drop_policy{}; }

void child::detach() {
    auto& state = need(state_);
    state.stdin_pipe.reset();
    if (!detail::delivered_status(&state) && owned_here(state)) {
        detail::unregister_child(&state);
        detail::reap_when_done(state.pid, std::move(state.pidfd));
    }
    state_.reset();
}

unique_fd& child::stdin_pipe() { return need(state_).stdin_pipe; }
unique_fd& child::stdout_pipe() { return need(state_).stdout_pipe; }
unique_fd& child::stderr_pipe() { return need(state_).stderr_pipe; }

void child::release_child() noexcept {
    if (!state_) return;
    detail::child_state& state = *state_;
    // Close our pipe ends first: a child blocked writing to us, or reading stdin, can then finish.
    state.stdin_pipe.reset();
    state.stdout_pipe.reset();
    state.stderr_pipe.reset();
    try {
        if (owned_here(state) && !detail::delivered_status(&state)) {
            switch (state.policy.what) {
                case drop_policy::action::kill:
                    send_signal(SIGKILL);
                    wait();
                    break;
                case drop_policy::action::terminate:
                    terminate(state.policy.grace);
                    break;
                case drop_policy::action::detach:
                    detach();
                    return;
            }
        }
    } catch (...) {
        // A destructor cannot report; the registry still forgets the child below.
    }
    detail::unregister_child(&state);
    state_.reset();
}

}  // namespace brood
