// What a server has to say to one client on a non-blocking socket: written as far as the socket
// takes it now, the rest kept for when it is writable again. Shared by the control socket and the
// HTTP endpoint.
//
//   box.append(reply);
//   if (box.flush(fd) == outbox::result::gone) ... close it
//   watch EPOLLOUT while box.pending() > 0
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace brood::control {

class outbox {
public:
    enum class result {
        sent,     // nothing is left
        waiting,  // the socket is full (EAGAIN): the rest waits
        gone,     // the client is gone (EPIPE, ECONNRESET ...)
    };

    void append(std::string_view bytes) { bytes_.append(bytes); }
    // Bytes not yet written.
    std::size_t pending() const { return bytes_.size() - sent_; }
    // Writes without blocking and without SIGPIPE.
    result flush(int fd);
    // The bytes not yet written, handed to whoever takes the connection over; none are left.
    std::string take_pending();

private:
    std::string bytes_;
    std::size_t sent_ = 0;  // bytes of bytes_ already written
};

}  // namespace brood::control
