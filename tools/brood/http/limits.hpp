// brood up's HTTP endpoint's limits: what one client may cost the supervisor, as the control
// socket has its own (control/limits.hpp).
#pragma once

#include <chrono>
#include <cstddef>

namespace brood::http {

// Connections open at once, event streams included; one more gets 503 and is closed.
inline constexpr std::size_t max_connections = 64;
// A request's bytes, headers and body together; past this it gets 413 and is closed. brood's
// requests are a line and a few headers: a browser's cookies and all fit well within it.
inline constexpr std::size_t max_request = 16 * 1024;
// Time to send a whole request from the connection's start (a client that trickles its headers
// holds a place no longer), and then to take the whole answer; past it the connection is closed.
inline constexpr std::chrono::seconds request_timeout{5};
// Events waiting for a client of /api/v1/events that does not read them; past this it is dropped,
// so a stuck browser tab never makes the supervisor grow.
inline constexpr std::size_t max_event_backlog = 256 * 1024;
// The kernel's send buffer of an event stream's socket (SO_SNDBUF; Linux doubles it), fixed so that
// what a stuck client costs is bounded in the kernel too, and max_event_backlog is reached.
inline constexpr std::size_t event_socket_buffer = 64 * 1024;

}  // namespace brood::http
