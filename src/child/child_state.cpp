#include "child/child_state.hpp"

#include <unistd.h>

#include <brood/error.hpp>

#include "child/pidfd.hpp"
#include "child/registry.hpp"

namespace brood::detail {

std::unique_ptr<child_state> make_child_state(pid_t pid, unique_fd pidfd) {
    auto state = std::make_unique<child_state>();
    state->pid = pid;
    state->owner = ::getpid();
    if (!pidfd) {
        // Race-free: the child is ours and not reaped yet, so its pid cannot have been reused.
        pidfd.reset(open_pidfd(pid));
        if (!pidfd && errno != ENOSYS) throw_errno(errno, "pidfd_open for child " + std::to_string(pid));
    }
    state->pidfd = std::move(pidfd);
    register_child(state.get());
    return state;
}

}  // namespace brood::detail
