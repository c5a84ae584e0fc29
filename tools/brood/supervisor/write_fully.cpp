#include "supervisor/write_fully.hpp"

#include <cerrno>

#include <poll.h>
#include <unistd.h>

namespace brood::supervisor {

int write_fully(int fd, std::string_view bytes) noexcept {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n >= 0) {
            bytes.remove_prefix(static_cast<std::size_t>(n));
            continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) return errno;
        // A terminal or pipe someone made non-blocking: wait until it takes more.
        pollfd ready{.fd = fd, .events = POLLOUT, .revents = 0};
        if (::poll(&ready, 1, -1) < 0 && errno != EINTR) return errno;
    }
    return 0;
}

}  // namespace brood::supervisor
