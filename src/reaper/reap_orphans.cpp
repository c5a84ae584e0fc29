#include <array>
#include <cerrno>

#include <sys/wait.h>

#include <brood/error.hpp>
#include <brood/reaper.hpp>

#include "child/registry.hpp"

namespace brood {

namespace {

// Reaps one exited child, whichever; nullopt when none has exited or there are no children.
std::optional<reaped_orphan> reap_one() {
    for (;;) {
        siginfo_t info{};
        // __WALL: a clone child with another exit signal must not stay a zombie either.
        if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | __WALL) == 0) {
            if (info.si_pid == 0) return std::nullopt;
            return reaped_orphan{info.si_pid, wait_status::from_siginfo(info)};
        }
        if (errno == ECHILD) return std::nullopt;
        if (errno != EINTR) throw_errno(errno, "waitid(P_ALL, WEXITED | WNOHANG)");
    }
}

}  // namespace

std::size_t reap_orphans(std::span<reaped_orphan> into) {
    // Reaping and then asking the registry is enough to tell owned children from orphans: the pid of
    // an unreaped child cannot be reused, and deliver_status hands an owned one's status to its
    // handle and says so in one step under the registry's lock, so no check-then-act gap is left.
    std::size_t count = 0;
    while (count < into.size()) {
        const std::optional<reaped_orphan> reaped = reap_one();
        if (!reaped) break;
        if (!detail::deliver_status(reaped->pid, reaped->status)) into[count++] = *reaped;
    }
    return count;
}

std::vector<reaped_orphan> reap_orphans() {
    std::vector<reaped_orphan> orphans;
    std::array<reaped_orphan, 64> batch;
    for (;;) {
        const std::size_t n = reap_orphans(batch);
        orphans.insert(orphans.end(), batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(n));
        if (n < batch.size()) return orphans;
    }
}

}  // namespace brood
