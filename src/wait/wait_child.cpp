#include <brood/wait.hpp>

#include <cerrno>

#include <sys/wait.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "child/registry.hpp"

namespace brood {

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
    while (::waitid(type, id, &info, flags) == -1) {
        if (errno == EINTR) continue;
        if (errno == ECHILD) return no_children{};
        throw_errno(errno, "waitid");
    }
    if (info.si_pid == 0) return no_change{};
    const wait_status status = wait_status::from_siginfo(info);
    if (status.terminal()) detail::deliver_status(info.si_pid, status);  // an owning handle learns it
    return child_event{info.si_pid, status};
}

}  // namespace brood
