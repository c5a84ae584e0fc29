// The control socket's limits: what one client may cost the supervisor.
#pragma once

#include <chrono>
#include <cstddef>

namespace brood::control {

// A request line longer than this gets an error reply, then the connection is closed.
inline constexpr std::size_t max_line = 64 * 1024;
// Replies and events waiting for a client that does not read them; past this it is dropped, so
// a stuck client never blocks the supervisor nor makes it grow.
inline constexpr std::size_t max_pending_output = 1024 * 1024;
// Requests a connection may send in a burst, and how many it earns back a second; beyond that
// they get an error reply (the supervisor keeps its time for its programs and other clients).
inline constexpr double request_burst = 200;
inline constexpr double requests_per_second = 100;
// Connections served at once. One more makes room by closing the connection idle the longest; when
// every one follows events, the new one gets an error line and is closed.
inline constexpr std::size_t max_connections = 64;
// A connection that has sent no whole request for this long is closed (one that follows events is
// not): a client that connects and says nothing holds no place for long.
inline constexpr std::chrono::seconds idle_timeout{5};

}  // namespace brood::control
