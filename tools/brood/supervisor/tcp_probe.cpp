#include "supervisor/tcp_probe.hpp"

#include <cerrno>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <brood/error.hpp>
#include <brood/unique_fd.hpp>

namespace brood::supervisor {

namespace {

constexpr int answer_within_ms = 100;

}  // namespace

bool port_accepts(std::uint16_t port) {
    unique_fd probe(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!probe) throw_errno(errno, "socket for a TCP probe of port " + std::to_string(port));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) return true;
    // Loopback mostly answers at once (accepted or ECONNREFUSED); EINPROGRESS means wait a little.
    if (errno != EINPROGRESS && errno != EINTR) return false;
    pollfd connected{.fd = probe.get(), .events = POLLOUT, .revents = 0};
    if (::poll(&connected, 1, answer_within_ms) <= 0) return false;
    int error = 0;
    socklen_t length = sizeof error;
    return ::getsockopt(probe.get(), SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0;
}

}  // namespace brood::supervisor
