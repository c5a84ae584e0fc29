// Subreaping: become the process that orphaned descendants are given to, and reap them.
//
// What brood reaps, and what it never touches:
//   - A child a brood::child owns is reaped by its own pid (pidfd), by its handle or by whoever
//     holds the handle (a monitor). Always; nothing else is ever needed for it.
//   - Any other child is left to whoever started it (posix_spawn, popen, system, another library):
//     its exit status stays for its owner's own waitpid. brood never waits for "any child" on its
//     own; only calls that say so do (wait_child with a selector you choose, and the init's calls
//     below).
//   - Every other exited child, orphans included, only when the program says that it is the init
//     of its tree: reap_as_init() here, or monitor_options::init_of_tree. brood run and brood up are
//     such inits.
//
// Why there is no mode "adopted orphans only": a child subreaper (PR_SET_CHILD_SUBREAPER) or PID 1
// is given every orphan below it, and the kernel keeps no record of a process's first parent. Once
// exited, an orphan cannot be told from a child that other code of the same process started, so
// reaping "orphans only" cannot be done exactly. A process that adopts orphans is therefore the init
// of its tree: it starts its children through brood (whose statuses reach their handles), or leaves
// the reaping to the code that starts the others, or does not become a subreaper.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <sys/types.h>

#include <brood/status.hpp>

namespace brood {

void become_subreaper(bool enable = true);
bool is_subreaper();
// Whether orphans are given to this process: it is a subreaper or PID 1 (of its PID namespace).
bool adopts_orphans();

struct reaped_orphan {
    pid_t pid = 0;
    wait_status status = exited{0};
};

// The init's reap, non-blocking: reaps every exited child that no brood::child owns and returns
// them; an owned child's status goes to its handle, as always. Calling it says that this process is
// the init of its tree; it throws std::logic_error in a process that adopts no orphans (neither a
// subreaper nor PID 1), where it could only take children that other code started.
std::vector<reaped_orphan> reap_as_init();
// As above, up to into.size() of them into `into`; returns how many. Reaping a storm in batches keeps
// memory bounded and lets other work run in between; a full batch means more may be waiting.
std::size_t reap_as_init(std::span<reaped_orphan> into);

}  // namespace brood
