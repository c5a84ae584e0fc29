// Subreaping: become the process that orphaned descendants are given to, and reap them.
//
// A child subreaper (prctl PR_SET_CHILD_SUBREAPER) receives every descendant whose parent dies,
// as init would. Adopted orphans become this process's children; reap_orphans() reaps those that
// have exited without touching children owned by a brood::child handle (their statuses go to
// their handles). Call it when SIGCHLD arrives (brood::monitor does this for you).
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include <sys/types.h>

#include <brood/status.hpp>

namespace brood {

void become_subreaper(bool enable = true);
bool is_subreaper();

struct reaped_orphan {
    pid_t pid = 0;
    wait_status status = exited{0};
};

// Non-blocking: reaps every exited child that no brood::child owns and returns them.
std::vector<reaped_orphan> reap_orphans();
// Non-blocking: reaps up to into.size() of them into `into` and returns how many. Reaping a storm
// of orphans in batches keeps memory bounded and lets other work run in between; a full batch
// means more may be waiting.
std::size_t reap_orphans(std::span<reaped_orphan> into);

}  // namespace brood
