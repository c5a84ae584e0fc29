// Where detached children go: each is reaped by a small thread of its own as soon as it exits,
// so a detached child never stays a zombie and no fd stays open after it is gone.
#pragma once

#include <sys/types.h>

#include <brood/unique_fd.hpp>

namespace brood::detail {

void reap_when_done(pid_t pid, unique_fd pidfd);

}  // namespace brood::detail
