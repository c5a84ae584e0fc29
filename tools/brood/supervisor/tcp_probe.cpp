#include "supervisor/tcp_probe.hpp"

#include <cerrno>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <brood/error.hpp>

namespace brood::supervisor {

namespace {

// The kernel resends an unanswered SYN after 1 s, then 3 s, 7 s...: a fresh attempt each second
// keeps asking at the pace of the probe's first second.
constexpr std::chrono::seconds attempt_limit{1};

bool established(int socket) {
    int error = 0;
    socklen_t length = sizeof error;
    return ::getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
}

}  // namespace

bool tcp_probe::check() {
    if (attempt_) {
        pollfd answered{.fd = attempt_.get(), .events = POLLOUT, .revents = 0};
        if (::poll(&answered, 1, 0) == 1) {
            const bool ok = established(attempt_.get());
            attempt_.reset();
            return ok;
        }
        if (std::chrono::steady_clock::now() - attempt_started_ < attempt_limit) return false;
        attempt_.reset();
    }
    unique_fd probe(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!probe) throw_errno(errno, "socket for a TCP probe of port " + std::to_string(port_));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port_);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return true;
    if (errno == EINPROGRESS) {
        attempt_ = std::move(probe);
        attempt_started_ = std::chrono::steady_clock::now();
    }
    return false;
}

}  // namespace brood::supervisor
