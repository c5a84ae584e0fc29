#include "control/outbox.hpp"

#include <cerrno>

#include <sys/socket.h>

namespace brood::control {

outbox::result outbox::flush(int fd) {
    while (pending() > 0) {
        const ssize_t n = ::send(fd, bytes_.data() + sent_, pending(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            sent_ += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return result::waiting;
        return result::gone;
    }
    bytes_.clear();
    sent_ = 0;
    return result::sent;
}

std::string outbox::take_pending() {
    std::string rest = bytes_.substr(sent_);
    bytes_.clear();
    sent_ = 0;
    return rest;
}

}  // namespace brood::control
