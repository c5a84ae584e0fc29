#include <brood/child.hpp>

#include <cerrno>
#include <memory>
#include <stdexcept>
#include <utility>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "child/birth_lock.hpp"
#include "child/child_state.hpp"
#include "child/detached_reaper.hpp"
#include "child/fork_private.hpp"
#include "child/pidfd.hpp"
#include "child/registry.hpp"

namespace brood {
namespace {

int wait_flags(wait_events events) noexcept {
    return (has(events, wait_events::exit) ? WEXITED : 0) | (has(events, wait_events::stop) ? WSTOPPED : 0) |
           (has(events, wait_events::cont) ? WCONTINUED : 0);
}

}  // namespace

child::child() noexcept = default;

child::child(pid_t pid, unique_fd pidfd) : pid_(pid), owner_(detail::this_process_id()), pidfd_(std::move(pidfd)) {
    if (!pidfd_) {
        pidfd_.reset(detail::open_pidfd(pid));
        if (!pidfd_ && errno != ENOSYS) throw_errno(errno, "pidfd_open for child " + std::to_string(pid));
    }
    auto state = std::make_unique<detail::child_state>();
    state->pid = pid;
    detail::register_child(state.get());
    state_ = state.release();
}

child::child(child&& other) noexcept { take(other); }
child& child::operator=(child&& other) noexcept {
    if (this != &other) {
        release_child();
        take(other);
    }
    return *this;
}
child::~child() { release_child(); }

void child::take(child& other) noexcept {
    pid_ = std::exchange(other.pid_, 0);
    owner_ = std::exchange(other.owner_, 0);
    pidfd_ = std::move(other.pidfd_);
    stdin_pipe_ = std::move(other.stdin_pipe_);
    stdout_pipe_ = std::move(other.stdout_pipe_);
    stderr_pipe_ = std::move(other.stderr_pipe_);
    policy_ = std::exchange(other.policy_, drop_policy{});
    state_ = std::exchange(other.state_, nullptr);
}

child child::adopt(pid_t pid, unique_fd pidfd) { return child(pid, std::move(pidfd)); }

// A handle copied into a forked child belongs to the process that created it.
bool child::owned_here() const noexcept { return state_ != nullptr && owner_ == detail::this_process_id(); }

void child::need_handle() const {
    if (!state_) throw std::logic_error("brood::child: the handle is empty (moved from, detached or default)");
}

detail::child_state& child::owned_state(const char* action) const {
    need_handle();
    if (!owned_here())
        throw std::logic_error(std::string("brood::child: cannot ") + action + " pid " + std::to_string(pid_) +
                               ": it belongs to the process that created it, not to this forked copy");
    return *state_;
}

std::optional<wait_status> child::exit_status() const noexcept {
    return owned_here() ? detail::delivered_status(state_) : std::nullopt;
}

// One waitid on the child; nullopt when nothing happened (WNOHANG). Records a terminal status.
std::optional<wait_status> child::wait_once(wait_events events, bool block) {
    detail::child_state& state = owned_state("wait for");
    if (auto done = detail::delivered_status(&state)) return done;
    const idtype_t type = pidfd_ ? P_PIDFD : P_PID;
    const id_t id = pidfd_ ? static_cast<id_t>(pidfd_.get()) : static_cast<id_t>(pid_);
    siginfo_t info{};
    for (;;) {
        if (::waitid(type, id, &info, wait_flags(events) | (block ? 0 : WNOHANG)) == 0) break;
        if (errno == EINTR) continue;
        if (errno == ECHILD) {
            // Reaped by selector (wait_child, reap_as_init), perhaps in another thread just now:
            // once that reap has delivered what it took, the registry has the status.
            detail::await_selector_reaps();
            if (auto done = detail::delivered_status(&state)) return done;
        }
        throw_errno(errno, "waitid for child " + std::to_string(pid_));
    }
    if (info.si_pid == 0) return std::nullopt;
    const wait_status status = wait_status::from_siginfo(info);
    if (status.terminal() && !detail::deliver_status(pid_, status)) state.final_status = status;
    return status;
}

wait_status child::wait(wait_events events) { return *wait_once(events, true); }

std::optional<wait_status> child::try_wait(wait_events events) { return wait_once(events, false); }

std::optional<wait_status> child::wait_for(std::chrono::milliseconds timeout) {
    detail::child_state& state = owned_state("wait for");
    if (auto done = detail::delivered_status(&state)) return done;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    if (!pidfd_) {
        // No pidfd (kernel < 5.3): nothing to block on, so poll the status in small steps.
        for (;;) {
            if (auto done = wait_once(wait_events::exit, false)) return done;
            if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
            ::usleep(1000);
        }
    }
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd ready{pidfd_.get(), POLLIN, 0};
        const int n = ::poll(&ready, 1, static_cast<int>(std::max<long long>(0, left.count())));
        if (n == -1 && errno != EINTR) throw_errno(errno, "poll on pidfd of child " + std::to_string(pid_));
        if (n > 0) return wait_once(wait_events::exit, false);
        if (n == 0) return std::nullopt;
    }
}

bool child::send_signal(int signal) {
    need_handle();
    if (!owned_here() || detail::delivered_status(state_)) return false;
    const int result = pidfd_ ? detail::signal_pidfd(pidfd_.get(), signal) : ::kill(pid_, signal);
    if (result == 0) return true;
    if (errno == ESRCH) return false;
    throw_errno(errno, "send signal " + std::to_string(signal) + " to child " + std::to_string(pid_));
}

wait_status child::terminate(std::chrono::milliseconds grace) {
    if (auto done = detail::delivered_status(&owned_state("terminate"))) return *done;
    send_signal(SIGTERM);
    send_signal(SIGCONT);  // a stopped child cannot act on SIGTERM until continued
    if (auto done = wait_for(grace)) return *done;
    send_signal(SIGKILL);
    return wait();
}

void child::detach() {
    need_handle();
    if (owned_here()) {
        detail::unregister_child(state_);
        if (!detail::delivered_status(state_)) detail::reap_when_done(pid_, std::move(pidfd_));
        delete state_;
    }
    forget();
}

void child::release_child() noexcept {
    if (!state_) return;
    if (!owned_here()) {
        // A forked copy leaves the state alone: it is its parent's, and the fork wiped it here.
        forget();
        return;
    }
    // Close our pipe ends first: a child blocked writing to us, or reading stdin, can then finish.
    stdin_pipe_.reset();
    stdout_pipe_.reset();
    stderr_pipe_.reset();
    try {
        if (!detail::delivered_status(state_)) {
            switch (policy_.what) {
                case drop_policy::action::kill:
                    send_signal(SIGKILL);
                    wait();
                    break;
                case drop_policy::action::terminate:
                    terminate(policy_.grace);
                    break;
                case drop_policy::action::detach:
                    detach();
                    return;
            }
        }
    } catch (...) {
        // A destructor cannot report; the registry still forgets the child below.
    }
    detail::unregister_child(state_);
    delete state_;
    forget();
}

void child::forget() noexcept {
    pid_ = 0;
    owner_ = 0;
    pidfd_.reset();
    stdin_pipe_.reset();
    stdout_pipe_.reset();
    stderr_pipe_.reset();
    policy_ = drop_policy{};
    state_ = nullptr;
}

}  // namespace brood
