#include <array>
#include <cerrno>
#include <stdexcept>

#include <sys/wait.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/reaper.hpp>

#include "child/birth_lock.hpp"
#include "child/fork_private.hpp"
#include "child/registry.hpp"
#include "reaper/reap_unowned.hpp"

namespace brood {

namespace detail {
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

std::size_t reap_unowned(std::span<reaped_orphan> into) {
    // Under the birth lock (birth_lock.hpp) every child brood has created is registered, so
    // asking the registry after each reap tells owned children from the rest: deliver_status hands
    // an owned one's status to its handle and says so in one step under the registry's lock.
    selector_reap_scope reaping;
    std::size_t count = 0;
    while (count < into.size()) {
        const std::optional<reaped_orphan> reaped = reap_one();
        if (!reaped) break;
        if (!deliver_status(reaped->pid, reaped->status)) into[count++] = *reaped;
    }
    return count;
}

void require_adopter(const char* who) {
    if (!adopts_orphans())
        throw std::logic_error(std::string(who) +
                               ": this process is neither a subreaper nor PID 1, so it adopts no orphans; "
                               "reaping every child here would take children that other code started "
                               "(call brood::become_subreaper() first if this process is the init of its tree)");
}

}  // namespace detail

bool adopts_orphans() { return detail::this_process_id() == 1 || is_subreaper(); }

std::size_t reap_as_init(std::span<reaped_orphan> into) {
    detail::require_adopter("brood::reap_as_init");
    return detail::reap_unowned(into);
}

std::vector<reaped_orphan> reap_as_init() {
    detail::require_adopter("brood::reap_as_init");
    std::vector<reaped_orphan> orphans;
    std::array<reaped_orphan, 64> batch;
    for (;;) {
        const std::size_t n = detail::reap_unowned(batch);
        orphans.insert(orphans.end(), batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(n));
        if (n < batch.size()) return orphans;
    }
}

}  // namespace brood
