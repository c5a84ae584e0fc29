#include "supervisor/loopback_connect.hpp"

#include <cerrno>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <brood/error.hpp>

namespace brood::supervisor {

loopback_attempt connect_loopback(std::uint16_t port) {
    unique_fd probe(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!probe) throw_errno(errno, "socket for a probe of port " + std::to_string(port));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    loopback_attempt attempt;
    if (::connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0) {
        attempt.connected = true;
    } else if (errno != EINPROGRESS) {
        attempt.error = errno;
        return attempt;
    }
    attempt.socket = std::move(probe);
    return attempt;
}

int connect_result(int socket) {
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(socket, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
    return error;
}

}  // namespace brood::supervisor
