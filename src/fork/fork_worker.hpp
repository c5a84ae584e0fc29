// The fork behind the workers brood makes itself (pool, prefork_server, parallel_map): workers start
// with a clean signal state, where brood::fork and fork_here keep the caller's.
//
// Internal to brood; the pool module uses it.
#pragma once

#include <optional>

#include <brood/child.hpp>

namespace brood::detail {

// fork_here(), except that unless keep_signals the child starts as a program does after exec: an
// empty signal mask, and every signal that has a handler back to its default action (ignored ones
// stay ignored). A parent that blocks SIGTERM to read it from a signalfd, or catches it to stop
// itself, would otherwise get workers that ignore SIGTERM or run its handler. Every signal is
// blocked in the calling thread across the fork, so no handler of the parent's runs in the child
// before the reset.
std::optional<child> fork_worker(bool keep_signals);

}  // namespace brood::detail
