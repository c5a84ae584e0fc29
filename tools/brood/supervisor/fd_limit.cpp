#include "supervisor/fd_limit.hpp"

#include <cerrno>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/eventfd.h>

#include <brood/error.hpp>
#include <brood/unique_fd.hpp>

namespace brood::supervisor {

rlimit raise_fd_limit() {
    rlimit before{};
    if (::getrlimit(RLIMIT_NOFILE, &before) != 0) throw_errno(errno, "getrlimit RLIMIT_NOFILE");
    rlimit raised = before;
    raised.rlim_cur = raised.rlim_max;
    if (raised.rlim_cur != before.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &raised) != 0)
        throw_errno(errno, "raise RLIMIT_NOFILE to " + std::to_string(raised.rlim_max));
    return before;
}

// The kernel gives out the lowest free number, so count fds can be opened exactly when count
// opens in a row succeed. They are an eventfd (no file system needed) and its duplicates, closed
// again on return.
void require_free_fds(unsigned count) {
    std::vector<unique_fd> held;
    held.reserve(count);
    while (held.size() < count) {
        unique_fd fd(held.empty() ? ::eventfd(0, EFD_CLOEXEC) : ::fcntl(held.front().get(), F_DUPFD_CLOEXEC, 0));
        if (!fd) {
            const int error = errno;
            held.clear();  // given back first: reporting may need an fd (a sanitizer's runtime does)
            rlimit limit{};
            ::getrlimit(RLIMIT_NOFILE, &limit);
            throw_errno(error, "fewer than " + std::to_string(count) + " file descriptors free (soft RLIMIT_NOFILE " +
                                   std::to_string(limit.rlim_cur) + "), kept for brood itself");
        }
        held.push_back(std::move(fd));
    }
}

}  // namespace brood::supervisor
