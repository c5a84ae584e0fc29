// command::output and command::run: spawn, feed stdin, collect stdout and stderr, reap.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <string_view>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "spawn/spawn_plan.hpp"

namespace brood {
namespace {

using clock = std::chrono::steady_clock;

void set_nonblocking(const unique_fd& fd) {
    if (!fd) return;
    const int flags = ::fcntl(fd.get(), F_GETFL);
    if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags | O_NONBLOCK) < 0) throw_errno(errno, "fcntl O_NONBLOCK");
}

// Writing to a pipe whose reader is gone raises SIGPIPE, which by default kills the whole process.
// While we feed the child, SIGPIPE is blocked for this thread; an EPIPE then leaves a SIGPIPE pending
// for this thread, which is taken back (sigtimedwait) before the old mask returns. A SIGPIPE already
// pending before (the application blocks it for its own reasons) is left alone.
class sigpipe_guard {
public:
    explicit sigpipe_guard(bool active) : active_(active) {
        if (!active_) return;
        sigset_t pending;
        ::sigemptyset(&pending);
        ::sigpending(&pending);
        was_pending_ = ::sigismember(&pending, SIGPIPE) == 1;
        ::pthread_sigmask(SIG_BLOCK, &only_sigpipe(), &saved_);
    }
    sigpipe_guard(const sigpipe_guard&) = delete;
    sigpipe_guard& operator=(const sigpipe_guard&) = delete;
    ~sigpipe_guard() {
        if (!active_) return;
        if (broken_ && !was_pending_) {
            const timespec no_wait{};
            while (::sigtimedwait(&only_sigpipe(), nullptr, &no_wait) < 0 && errno == EINTR) {
            }
        }
        ::pthread_sigmask(SIG_SETMASK, &saved_, nullptr);
    }
    void broken_pipe() noexcept { broken_ = true; }

private:
    static const sigset_t& only_sigpipe() noexcept {
        static const sigset_t set = [] {
            sigset_t s;
            ::sigemptyset(&s);
            ::sigaddset(&s, SIGPIPE);
            return s;
        }();
        return set;
    }
    bool active_;
    bool was_pending_ = false;
    bool broken_ = false;
    sigset_t saved_{};
};

// Reads what is available now into text (up to a budget, so that one busy stream does not starve
// the other). False at end of file.
bool read_available(const unique_fd& fd, std::string& text) {
    constexpr std::size_t chunk = 64 * 1024;
    constexpr std::size_t budget = 1024 * 1024;
    for (std::size_t taken = 0; taken < budget;) {
        const std::size_t old = text.size();
        text.resize(old + chunk);  // read straight into the string; it grows geometrically
        const ssize_t n = ::read(fd.get(), text.data() + old, chunk);
        text.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
        if (n > 0) {
            taken += static_cast<std::size_t>(n);
        } else if (n == 0) {
            return false;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return true;
        } else if (errno != EINTR) {
            throw_errno(errno, "read from child's output");
        }
    }
    return true;
}

void drain_now(unique_fd& fd, std::string& text) {
    if (fd && !read_available(fd, text)) fd.reset();
}

int poll_timeout(const std::optional<clock::time_point>& deadline) {
    if (!deadline) return -1;
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - clock::now()).count();
    return static_cast<int>(std::clamp<decltype(left)>(left, 0, INT_MAX));
}

}  // namespace

process_output command::output(const output_options& options) const {
    const bool feed = options.input.has_value();
    child kid = detail::spawn_command(*this, feed ? stdio::pipe() : stdin_, stdio::pipe(), stdio::pipe());
    // Without input, a stdin configured as a pipe has nobody to write it: the child gets EOF.
    unique_fd in = std::move(kid.stdin_pipe());
    unique_fd out = std::move(kid.stdout_pipe());
    unique_fd err = std::move(kid.stderr_pipe());
    std::string_view pending = feed ? std::string_view(*options.input) : std::string_view();
    if (pending.empty()) in.reset();
    set_nonblocking(in);
    set_nonblocking(out);
    set_nonblocking(err);

    std::optional<clock::time_point> deadline;
    if (options.timeout) deadline = clock::now() + *options.timeout;

    std::string out_text, err_text;
    bool timed_out = false;
    {
        sigpipe_guard guard(static_cast<bool>(in));
        while (in || out || err) {
            const int timeout_ms = poll_timeout(deadline);
            if (timeout_ms == 0) {
                timed_out = true;
                break;
            }
            pollfd fds[3];
            nfds_t n = 0;
            if (in) fds[n++] = {in.get(), POLLOUT, 0};
            if (out) fds[n++] = {out.get(), POLLIN, 0};
            if (err) fds[n++] = {err.get(), POLLIN, 0};
            const int ready = ::poll(fds, n, timeout_ms);
            if (ready < 0) {
                if (errno == EINTR) continue;
                throw_errno(errno, "poll on child's pipes");
            }
            for (nfds_t i = 0; i < n; ++i) {
                if (fds[i].revents == 0) continue;
                if (fds[i].fd == out.get()) {
                    drain_now(out, out_text);
                } else if (fds[i].fd == err.get()) {
                    drain_now(err, err_text);
                } else if (fds[i].fd == in.get()) {
                    const ssize_t w = ::write(in.get(), pending.data(), pending.size());
                    if (w > 0) {
                        pending.remove_prefix(static_cast<std::size_t>(w));
                        if (pending.empty()) in.reset();  // end of input: the child sees EOF
                    } else if (w < 0 && errno == EPIPE) {
                        guard.broken_pipe();  // the child closed its stdin early: not an error
                        in.reset();
                    } else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                        throw_errno(errno, "write to child's stdin");
                    }
                }
            }
        }
    }
    in.reset();

    std::optional<wait_status> status;
    if (!timed_out) {
        if (deadline) {
            status = kid.wait_for(std::chrono::milliseconds(poll_timeout(deadline)));
            timed_out = !status;
        } else {
            status = kid.wait();
        }
    }
    if (timed_out) {
        kid.kill();
        status = kid.wait();
        // Whatever the child wrote before it died is kept (grandchildren may still hold the pipes
        // open: take only what is there now).
        drain_now(out, out_text);
        drain_now(err, err_text);
    }
    return process_output{*status, std::move(out_text), std::move(err_text), timed_out};
}

wait_status command::run() const {
    child kid = spawn();
    // Nobody would read or write pipes asked for here: close our ends so the child sees EOF or
    // EPIPE instead of blocking forever.
    kid.stdin_pipe().reset();
    kid.stdout_pipe().reset();
    kid.stderr_pipe().reset();
    return kid.wait();
}

}  // namespace brood
