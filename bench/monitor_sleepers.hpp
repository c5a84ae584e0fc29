// Children for the monitor benchmarks: n processes asleep in pause(), all in one process group so
// that one killpg() kills them "at once". Made with a raw fork, before any pidfd exists, so that the
// monitor and the raw waitid loop start from the very same kind of processes and no child holds a
// copy of a pidfd.
#pragma once

#include <cstddef>
#include <vector>

#include <sys/types.h>

namespace brood_bench {

struct sleepers {
    pid_t group = 0;
    std::vector<pid_t> pids;  // in creation order (the order of the kernel's children list)
};

// Returns once every child has joined the group and is about to pause().
sleepers fork_sleepers(std::size_t n);

// Raises the soft RLIMIT_NOFILE to the hard limit; exits with a message if it stays below need.
void raise_fd_limit(std::size_t need);

[[noreturn]] void die(const char* what);

}  // namespace brood_bench
