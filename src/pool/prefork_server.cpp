#include <brood/pool/prefork_server.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>

#include <poll.h>
#include <sys/prctl.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/fork.hpp>

#include "fork/fork_worker.hpp"

namespace brood {

prefork_server::prefork_server(unique_fd listener, worker_function fn, prefork_options options)
    : listener_(std::move(listener)), fn_(std::move(fn)), options_(options), slots_(options.workers) {
    wake_ = unique_fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake_) throw_errno(errno, "eventfd for prefork_server");
    for (std::size_t i = 0; i < slots_.size(); ++i) start(i);
}

prefork_server::~prefork_server() {
    try {
        stop();
    } catch (...) {
        // Handles left in slots_ still kill and reap their workers as they are destroyed.
    }
}

void prefork_server::start(std::size_t index) {
    slot& s = slots_[index];
    const pid_t supervisor = ::getpid();
    auto worker = [this, index, supervisor] {
        if (options_.die_with_supervisor) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (::getppid() != supervisor) return;  // it died before the prctl
        }
        fn_(listener_.get(), index);
    };
    std::optional<child> kid = detail::fork_worker(options_.inherit_signals);
    if (!kid) detail::run_and_exit(worker);
    s.process = std::move(*kid);
    if (s.process.pidfd() < 0) throw std::runtime_error("brood::prefork_server needs pidfd support (Linux 5.3 or later)");
    s.started = clock::now();
}

void prefork_server::reap(std::size_t index, const wait_status& status) {
    slot& s = slots_[index];
    const auto now = clock::now();
    const auto uptime = std::chrono::duration_cast<std::chrono::milliseconds>(now - s.started);
    // Dying young again and again is a crash loop: wait longer each time rather than fork flat out.
    s.backoff = uptime >= options_.min_uptime ? std::chrono::milliseconds(0)
                : s.backoff.count() == 0     ? options_.backoff_initial
                                             : std::min(s.backoff * 2, options_.backoff_max);
    s.restart_at = now + s.backoff;
    const pid_t pid = s.process.pid();
    s.process = child();
    if (on_exit_) on_exit_({index, pid, status, uptime, s.backoff});
}

void prefork_server::run_for(std::chrono::milliseconds timeout) {
    const auto deadline = clock::now() + timeout;
    while (!stopped_ && !stop_requested()) {
        // Start every slot whose delay is over; find the next one due.
        auto next = deadline;
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i].process) continue;
            if (slots_[i].restart_at <= clock::now()) {
                start(i);
                ++restarts_;
            } else {
                next = std::min(next, slots_[i].restart_at);
            }
        }
        const auto now = clock::now();
        if (now >= deadline) return;

        std::vector<pollfd> fds{{wake_.get(), POLLIN, 0}};
        std::vector<std::size_t> which;
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (!slots_[i].process) continue;
            fds.push_back({slots_[i].process.pidfd(), POLLIN, 0});
            which.push_back(i);
        }
        const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now).count();
        const int n = ::poll(fds.data(), fds.size(),
                             static_cast<int>(std::clamp<std::int64_t>(wait, 0, std::numeric_limits<int>::max())));
        if (n == -1 && errno == EINTR) continue;
        if (n == -1) throw_errno(errno, "poll on prefork workers");
        for (std::size_t k = 0; k < which.size(); ++k) {
            if (fds[k + 1].revents == 0) continue;
            if (auto status = slots_[which[k]].process.try_wait()) reap(which[k], *status);
        }
    }
}

void prefork_server::run() {
    while (!stopped_ && !stop_requested()) run_for(std::chrono::hours(24));
}

void prefork_server::request_stop() noexcept {
    stop_requested_.store(true, std::memory_order_relaxed);
    const std::uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(wake_.get(), &one, sizeof one);
}

void prefork_server::stop() {
    if (stopped_) return;
    stopped_ = true;
    for (auto& s : slots_) {
        if (!s.process) continue;
        s.process.send_signal(SIGTERM);
        s.process.send_signal(SIGCONT);  // a stopped worker acts on SIGTERM only once continued
    }
    const auto deadline = clock::now() + options_.stop_grace;
    for (auto& s : slots_) {
        if (!s.process) continue;
        const auto left = std::max(std::chrono::milliseconds(0),
                                   std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()));
        if (!s.process.wait_for(left)) {
            s.process.kill();
            s.process.wait();
        }
        s.process = child();
    }
}

std::vector<pid_t> prefork_server::worker_pids() const {
    std::vector<pid_t> pids;
    for (const auto& s : slots_) pids.push_back(s.process ? s.process.pid() : 0);
    return pids;
}

}  // namespace brood
