#include "child/detached_reaper.hpp"

#include <cerrno>
#include <thread>

#include <sys/wait.h>

namespace brood::detail {

// A thread per detached child, not a shared loop: detaching is rare, and a thread that ends with
// its child leaves nothing open behind (a shared loop would keep an fd for its whole life).
void reap_when_done(pid_t pid, unique_fd pidfd) {
    std::thread([pid, fd = std::move(pidfd)]() mutable {
        siginfo_t info{};
        const idtype_t type = fd ? P_PIDFD : P_PID;
        const id_t id = fd ? static_cast<id_t>(fd.get()) : static_cast<id_t>(pid);
        while (::waitid(type, id, &info, WEXITED) == -1 && errno == EINTR) {
        }
    }).detach();
}

}  // namespace brood::detail
