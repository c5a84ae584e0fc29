#include "supervisor/fd_limit.hpp"

#include <cerrno>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

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

namespace {

// The fds held, each numbered above the one before (lowest free first): closed a run of
// consecutive numbers at a time, one close_range each, not one close each.
void close_in_runs(std::vector<unique_fd>& held) noexcept {
    for (std::size_t first = 0; first < held.size();) {
        std::size_t last = first;
        while (last + 1 < held.size() && held[last + 1].get() == held[last].get() + 1) ++last;
        if (::syscall(SYS_close_range, static_cast<unsigned>(held[first].get()), static_cast<unsigned>(held[last].get()),
                      0U) == 0)
            for (std::size_t i = first; i <= last; ++i) (void)held[i].release();
        first = last + 1;
    }
    held.clear();  // any close_range refused (a kernel before 5.9): one close each
}

}  // namespace

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
    close_in_runs(held);
}

}  // namespace brood::supervisor
