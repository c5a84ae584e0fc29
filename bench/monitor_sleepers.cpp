#include "monitor_sleepers.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

namespace brood_bench {

void die(const char* what) {
    std::fprintf(stderr, "monitor bench: %s: %s\n", what, std::strerror(errno));
    std::exit(1);
}

sleepers fork_sleepers(std::size_t n) {
    int ready[2];
    if (::pipe2(ready, O_CLOEXEC) == -1) die("pipe2");
    sleepers out;
    out.pids.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const pid_t pid = ::fork();
        if (pid == -1) die("fork");
        if (pid == 0) {
            // Only async-signal-safe calls between fork and pause.
            ::setpgid(0, out.group);
            ::close(ready[0]);
            while (::write(ready[1], "x", 1) == -1 && errno == EINTR) {
            }
            ::close(ready[1]);
            for (;;) ::pause();
        }
        if (out.group == 0) out.group = pid;
        ::setpgid(pid, out.group);  // both sides set it: no window where killpg could miss it
        out.pids.push_back(pid);
    }
    ::close(ready[1]);
    char buffer[4096];
    std::size_t got = 0;
    while (got < n) {
        const ssize_t r = ::read(ready[0], buffer, sizeof buffer);
        if (r == -1 && errno == EINTR) continue;
        if (r <= 0) die("read of the ready pipe");
        got += static_cast<std::size_t>(r);
    }
    ::close(ready[0]);
    return out;
}

void raise_fd_limit(std::size_t need) {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < need) {
        std::fprintf(stderr, "monitor bench: RLIMIT_NOFILE hard limit %llu < %zu fds needed\n",
                     static_cast<unsigned long long>(limit.rlim_max), need);
        std::exit(1);
    }
}

}  // namespace brood_bench
