// brood up's file descriptors. brood holds several for each instance (its log, its output pipe, its
// pidfd, with cgroups its cgroup and cgroup.events), and keeps some for itself.
//
//   require_free_fds(fd_reserve);                 // before each start; throws EMFILE when short
#pragma once

#include <sys/resource.h>

namespace brood::supervisor {

// brood keeps this many fds for itself: an instance is not started while fewer are free, so that
// brood can still answer on its control socket, read its configuration on reload and walk /proc
// at shutdown when its programs have taken all the others.
inline constexpr unsigned fd_reserve = 16;

// Throws std::system_error (EMFILE, naming the soft limit) unless count more fds could be opened now.
void require_free_fds(unsigned count);

}  // namespace brood::supervisor
