// The loop a pool worker runs in the forked child: init, then read a message, run it, answer it,
// until the stop message. It never returns: the worker ends with _exit (brood::exit_child).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>

#include <sys/types.h>

#include <brood/pool/pool_core.hpp>

#include "pool/channel.hpp"

namespace brood::detail {

struct worker_context {
    const channel* ring;
    std::size_t index;
    const task_handler* handler;
    const std::function<void(std::size_t)>* init;  // may be empty
    std::chrono::nanoseconds spin;
    int parent_bell;
    pid_t parent;
};

[[noreturn]] void run_worker(const worker_context& context) noexcept;

}  // namespace brood::detail
