// A TCP connection to 127.0.0.1:PORT, begun without waiting: what the readiness probe and the
// health checks of a program's port both start with.
#pragma once

#include <cstdint>

#include <brood/unique_fd.hpp>

namespace brood::supervisor {

struct loopback_attempt {
    unique_fd socket;  // non-blocking; closed (empty) once the connect has failed
    bool connected = false;  // at once: loopback mostly answers a connect right away
    int error = 0;           // why it failed at once; 0 while in progress or connected
};

// Throws std::system_error when no socket can be had.
loopback_attempt connect_loopback(std::uint16_t port);

// Once a connect in progress has answered (the socket is writable): 0 if established, else its errno.
int connect_result(int socket);

}  // namespace brood::supervisor
