// The one seam between pidfd kernels (>= 5.3) and older ones. pidfd support is probed once.
#pragma once

#include <sys/types.h>

namespace brood::detail {

// -1 with errno set on failure (ENOSYS on old kernels).
int open_pidfd(pid_t pid) noexcept;
// 0 or -1 with errno (ESRCH once the process is reaped).
int signal_pidfd(int pidfd, int signal) noexcept;

}  // namespace brood::detail
