// brood watch --tree: follows every descendant of the program and reports its lifecycle.
//
// With the proc connector (root in the initial namespaces), each fork, exec and exit of a
// descendant is reported as it happens, with its parent, whatever its depth. Elsewhere brood
// learns of a descendant only when it is adopted as an orphan (brood is a subreaper) and reaps it;
// the tracker says so once, on stderr. Stops and continues are reported for the program and for
// adopted orphans, which are brood's children (the connector has no such events).
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <unordered_map>

#include <sys/types.h>

#include <brood/status.hpp>

#include "init/event_log.hpp"
#include "init/proc_connector.hpp"

namespace brood::cli {

class descendant_tracker {
public:
    explicit descendant_tracker(event_log& log);

    // The connector's fd to watch for reading; -1 without one.
    int fd() const noexcept { return connector_ ? connector_->fd() : -1; }
    // The root of the tree: the init loop reports its own events.
    void track_program(pid_t pid);
    // The connector's fd is readable.
    void read_events();
    // brood reaped an adopted orphan, or saw an orphan stop or continue.
    void orphan_event(pid_t pid, const wait_status& status);

private:
    void report_exit(pid_t pid, pid_t parent, const wait_status& status);
    void rescan();
    bool recently_reported(pid_t pid) const;

    event_log& log_;
    std::optional<proc_connector> connector_;
    pid_t program_ = 0;
    std::unordered_map<pid_t, pid_t> parents_;  // tracked process -> its parent
    // Exits the connector reported lately: when brood then reaps the same orphan, it is not
    // reported twice. Bounded; a pid is reused only after many more processes have come and gone.
    std::array<pid_t, 1024> recent_exits_{};
    std::size_t next_recent_ = 0;
};

}  // namespace brood::cli
