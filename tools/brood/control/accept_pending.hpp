// Accepting every pending connection of a non-blocking listening socket, up to a batch per
// wake-up, without spinning when brood is out of file descriptors. Shared by the control socket
// and the HTTP endpoint.
//
//   unique_fd spare(::open("/dev/null", O_RDONLY | O_CLOEXEC));
//   loop.add_fd(listener, EPOLLIN, [&](int, std::uint32_t) {
//       accept_pending(listener, spare, [&](unique_fd client) { ... });
//   });
#pragma once

#include <functional>

#include <brood/unique_fd.hpp>

namespace brood::control {

// Calls take with each new connection (SOCK_NONBLOCK | SOCK_CLOEXEC), at most 16 of them. Out of
// fds (EMFILE, ENFILE), the pending client would keep the listener readable and the loop spinning:
// spare is given up to accept and close it, then opened again.
void accept_pending(int listener, unique_fd& spare, const std::function<void(unique_fd)>& take);

}  // namespace brood::control
