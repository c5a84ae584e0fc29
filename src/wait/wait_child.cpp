#include <brood/wait.hpp>

#include <cerrno>

#include <sys/wait.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "child/birth_lock.hpp"
#include "child/registry.hpp"

namespace brood {
namespace {

// One waitid; false with errno set when it failed for a reason other than EINTR.
bool wait_once(idtype_t type, id_t id, siginfo_t& info, int flags) {
    for (;;) {
        info = siginfo_t{};
        if (::waitid(type, id, &info, flags) == 0) return true;
        if (errno != EINTR) return false;
    }
}

// Reaps by selector without a window for a child of brood's not yet registered (birth_lock.hpp):
// the reap and the delivery to an owning handle happen under the lock held exclusively. A blocking
// wait cannot hold it while it sleeps, so it first waits for a change without taking it (WNOWAIT),
// then takes that child by its pid under the lock.
bool reap_by_selector(idtype_t type, id_t id, siginfo_t& info, int flags) {
    if ((flags & WNOHANG) == 0) {
        for (;;) {
            if (!wait_once(type, id, info, flags | WNOWAIT)) return false;
            const pid_t pid = info.si_pid;
            detail::selector_reap_scope reaping;
            if (!wait_once(P_PID, static_cast<id_t>(pid), info, flags | WNOHANG)) {
                if (errno == ECHILD) continue;  // another reaper took it between the peek and now
                return false;
            }
            if (info.si_pid == 0) continue;
            const wait_status status = wait_status::from_siginfo(info);
            if (status.terminal()) detail::deliver_status(info.si_pid, status);
            return true;
        }
    }
    detail::selector_reap_scope reaping;
    if (!wait_once(type, id, info, flags)) return false;
    if (info.si_pid != 0) {
        const wait_status status = wait_status::from_siginfo(info);
        if (status.terminal()) detail::deliver_status(info.si_pid, status);
    }
    return true;
}

}  // namespace

wait_result wait_child(wait_selector selector, wait_events events, wait_mode mode) {
    idtype_t type = P_ALL;
    id_t id = 0;
    switch (selector.type()) {
        case wait_selector::kind::pid: type = P_PID; id = static_cast<id_t>(selector.id()); break;
        case wait_selector::kind::any: break;
        // P_PGID with 0 means "my group" only since Linux 5.4: name the group explicitly.
        case wait_selector::kind::own_group: type = P_PGID; id = static_cast<id_t>(::getpgrp()); break;
        case wait_selector::kind::group: type = P_PGID; id = static_cast<id_t>(selector.id()); break;
    }
    const int flags = (has(events, wait_events::exit) ? WEXITED : 0) | (has(events, wait_events::stop) ? WSTOPPED : 0) |
                      (has(events, wait_events::cont) ? WCONTINUED : 0) | (mode == wait_mode::no_hang ? WNOHANG : 0);
    siginfo_t info{};
    if (!reap_by_selector(type, id, info, flags)) {
        if (errno == ECHILD) return no_children{};
        throw_errno(errno, "waitid");
    }
    if (info.si_pid == 0) return no_change{};
    return child_event{info.si_pid, wait_status::from_siginfo(info)};
}

}  // namespace brood
