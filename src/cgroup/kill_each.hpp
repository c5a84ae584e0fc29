// cgroup::kill where the kernel has no cgroup.kill (before Linux 5.14).
#pragma once

#include <brood/cgroup.hpp>

namespace brood::detail {

// SIGKILL to every process listed in group and its child cgroups, again and again until a reading
// finds no process that was not signalled already: children forked meanwhile are caught by the
// next reading, and a process being killed cannot fork any more.
void kill_each(const cgroup& group);

}  // namespace brood::detail
