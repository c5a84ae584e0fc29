// What a brood::child owns. Internal: spawn and fork fill it in, child and the reaper read it.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>

#include <sys/types.h>

#include <brood/child.hpp>
#include <brood/status.hpp>
#include <brood/unique_fd.hpp>

namespace brood::detail {

struct child_state {
    pid_t pid = 0;
    unique_fd pidfd;                          // -1 where the kernel has no pidfd
    pid_t owner = 0;                          // getpid() of the process that created the child
    std::optional<wait_status> final_status;  // set once reaped; see registry.hpp for locking
    drop_policy policy{};
    unique_fd stdin_pipe, stdout_pipe, stderr_pipe;

    // From a pool of the child module's own (state_pool.cpp), which costs a fork fewer copied pages.
    static void* operator new(std::size_t size);
    static void operator delete(void* state) noexcept;
};

// Makes the state of a child this process just created and registers it as owned, so that
// reap_orphans() and wait_child() hand its status to the handle. pidfd may be empty: then one is
// opened with pidfd_open (race-free: the child is ours and not yet reaped).
std::unique_ptr<child_state> make_child_state(pid_t pid, unique_fd pidfd);

}  // namespace brood::detail
