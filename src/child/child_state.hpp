// What brood keeps of an owned child besides its handle: where a selector wait (wait_child,
// reap_as_init) that reaps the child leaves its status. Internal to the child module.
#pragma once

#include <cstddef>
#include <optional>

#include <sys/types.h>

#include <brood/status.hpp>

namespace brood::detail {

struct child_state {
    pid_t pid = 0;
    std::optional<wait_status> final_status;  // set once reaped; see registry.hpp for locking

    // From a pool of the child module's own (state_pool.cpp), in memory a forked child gets wiped.
    static void* operator new(std::size_t size);
    static void operator delete(void* state) noexcept;
};

}  // namespace brood::detail
