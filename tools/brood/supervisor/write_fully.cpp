#include "supervisor/write_fully.hpp"

#include <cerrno>

#include <poll.h>
#include <unistd.h>

namespace brood::supervisor {

int write_fully(int fd, std::string_view bytes, std::size_t* written) noexcept {
    std::size_t done = 0;
    int error = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n >= 0) {
            done += static_cast<std::size_t>(n);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno != EAGAIN) {
            error = errno;
            break;
        }
        // A terminal or pipe someone made non-blocking: wait until it takes more.
        pollfd ready{.fd = fd, .events = POLLOUT, .revents = 0};
        if (::poll(&ready, 1, -1) < 0 && errno != EINTR) {
            error = errno;
            break;
        }
    }
    if (written != nullptr) *written = done;
    return error;
}

}  // namespace brood::supervisor
