// The readiness check of programs with ready = "tcp": does something accept connections on the
// instance's port yet?
#pragma once

#include <cstdint>

namespace brood::supervisor {

// True when a TCP connection to 127.0.0.1:port is established now. It is closed at once. Takes at
// most about 100 ms (a listener whose backlog is full may not answer): call it from a timer, not
// in a tight loop.
bool port_accepts(std::uint16_t port);

}  // namespace brood::supervisor
