#include "control/accept_pending.hpp"

#include <cerrno>

#include <fcntl.h>
#include <sys/socket.h>

namespace brood::control {
namespace {

constexpr int accepts_per_wakeup = 16;

}  // namespace

void accept_pending(int listener, unique_fd& spare, const std::function<void(unique_fd)>& take) {
    for (int i = 0; i < accepts_per_wakeup; ++i) {
        unique_fd client(::accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
        if (client) {
            take(std::move(client));
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if ((errno == EMFILE || errno == ENFILE) && spare) {
            spare.reset();
            unique_fd refused(::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
            refused.reset();
            spare = unique_fd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
            continue;
        }
        break;  // EAGAIN: none left; anything else: try again on the next wake-up
    }
}

}  // namespace brood::control
