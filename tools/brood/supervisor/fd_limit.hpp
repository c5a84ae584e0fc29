// brood up's file descriptors. brood holds several for each instance (its log, its two output
// pipes, its pidfd, with cgroups its cgroup and cgroup.events, and up to
// instance_usage::max_fds to read its usage from), so at start it raises its soft RLIMIT_NOFILE
// to the hard limit, as systemd does for itself. Its programs get the limit brood was started with,
// as they would have had without brood: a program may use select(), which cannot take an fd above
// 1023 (the reason systemd keeps 1024 as its services' soft limit).
//
//   const rlimit inherited = raise_fd_limit();    // for command::rlimit(RLIMIT_NOFILE, ...)
//   require_free_fds(fd_reserve);                 // before each start; throws EMFILE when short
#pragma once

#include <sys/resource.h>

namespace brood::supervisor {

// brood keeps this many fds for itself: an instance is not started while fewer are free, so that
// brood can still answer on its control socket, read its configuration on reload and walk /proc
// at shutdown when its programs have taken all the others.
inline constexpr unsigned fd_reserve = 16;

// Raises the soft RLIMIT_NOFILE to the hard limit; returns the limit as it was before. Throws
// std::system_error when the limit cannot be read or set.
rlimit raise_fd_limit();

// Throws std::system_error (EMFILE, naming the soft limit) unless count more fds could be opened now.
void require_free_fds(unsigned count);

}  // namespace brood::supervisor
