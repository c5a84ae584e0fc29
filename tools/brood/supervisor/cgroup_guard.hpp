// brood up's cgroup guard: a small process that ends what a brood killed by SIGKILL (or crashing)
// leaves in its cgroups, as soon as brood is gone.
//
//   auto guard = loop.watch(brood::supervisor::start_cgroup_guard(*isolation.path()), tag);
//
// The instances' leaders die with brood (PR_SET_PDEATHSIG), but what they forked, a daemon that
// called setsid() included, would run on: the kernel ends no cgroup with a process. The guard,
// forked once brood's group exists, waits on brood's pidfd; once brood has ended it kills
// everything in the group (cgroup.kill), removes it and the instances' groups, and exits. Its new
// parent (init, or the subreaper above brood) reaps it. A brood that ends as it should kills and
// reaps its guard before it has anything to do.
//
// The guard stays in brood's own cgroup, not in the one it kills; in a session of its own, so that
// a kill -9 of brood's process group (kill -9 %1) or a terminal's ^C does not reach it; with
// stdin and stdout on /dev/null and every other fd but stderr closed, so that brood's sockets and
// pipes die with brood (a client must not find the control socket alive through the guard). Its
// name and command line are brood-guard, so that pidof brood and pgrep -f 'brood up' do not find
// it. Its memory is brood's at the fork, shared copy-on-write, less the code pages it drops.
#pragma once

#include <filesystem>

#include <brood/child.hpp>

namespace brood::supervisor {

// Forks the guard of group (brood-up.<pid>) for this process. Its drop policy is detach: should
// the handle be dropped while brood is still running (an exception unwinding brood up), the guard
// still outlives brood and cleans up after it.
child start_cgroup_guard(const std::filesystem::path& group);

}  // namespace brood::supervisor
