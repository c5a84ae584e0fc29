// The readiness check of programs with ready = "tcp": does something accept connections on the
// instance's port yet? It runs on brood up's one loop, so it never waits for an answer.
#pragma once

#include <chrono>
#include <cstdint>

#include <brood/unique_fd.hpp>

namespace brood::supervisor {

class tcp_probe {
public:
    explicit tcp_probe(std::uint16_t port) : port_(port) {}

    // True once a TCP connection to 127.0.0.1:port has been established (it is closed at once).
    // Never blocks: loopback mostly answers a connect at once (accepted or refused), but a
    // listener whose backlog is full lets it wait; that attempt is looked at again by the next
    // check, and given up for a new one after a second.
    bool check();
    std::uint16_t port() const { return port_; }

private:
    std::uint16_t port_;
    unique_fd attempt_;  // a connect still in progress
    std::chrono::steady_clock::time_point attempt_started_;
};

}  // namespace brood::supervisor
