#include "supervisor/tcp_probe.hpp"

#include <poll.h>

#include "supervisor/loopback_connect.hpp"

namespace brood::supervisor {

namespace {

// The kernel resends an unanswered SYN after 1 s, then 3 s, 7 s...: a fresh attempt each second
// keeps asking at the pace of the probe's first second.
constexpr std::chrono::seconds attempt_limit{1};

}  // namespace

bool tcp_probe::check() {
    if (attempt_) {
        pollfd answered{.fd = attempt_.get(), .events = POLLOUT, .revents = 0};
        if (::poll(&answered, 1, 0) == 1) {
            const bool ok = connect_result(attempt_.get()) == 0;
            attempt_.reset();
            return ok;
        }
        if (std::chrono::steady_clock::now() - attempt_started_ < attempt_limit) return false;
        attempt_.reset();
    }
    loopback_attempt attempt = connect_loopback(port_);
    if (attempt.connected) return true;
    if (attempt.socket) {
        attempt_ = std::move(attempt.socket);
        attempt_started_ = std::chrono::steady_clock::now();
    }
    return false;
}

}  // namespace brood::supervisor
