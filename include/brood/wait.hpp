// The waitpid selector model, typed: which children, which events, blocking or not.
//
//   auto r = brood::wait_child(brood::wait_selector::any(), brood::wait_events::all, brood::wait_mode::no_hang);
//   if (auto* ev = std::get_if<brood::child_event>(&r)) ... ev->pid, ev->status
//   else if (std::holds_alternative<brood::no_children>(r)) ...   // ECHILD, a value not an error
//
// Prefer child::wait for children you hold: this reaps whatever it selects. When it reaps a child
// that a brood::child handle owns, the handle learns the status (its wait() returns it).
#pragma once

#include <variant>

#include <sys/types.h>

#include <brood/child.hpp>
#include <brood/status.hpp>

namespace brood {

class wait_selector {
public:
    enum class kind { pid, any, own_group, group };
    static wait_selector process(pid_t pid) noexcept { return {kind::pid, pid}; }   // waitpid(pid > 0)
    static wait_selector any() noexcept { return {kind::any, 0}; }                  // waitpid(-1)
    static wait_selector own_group() noexcept { return {kind::own_group, 0}; }      // waitpid(0)
    static wait_selector group(pid_t pgid) noexcept { return {kind::group, pgid}; } // waitpid(-pgid)

    kind type() const noexcept { return kind_; }
    pid_t id() const noexcept { return id_; }

private:
    wait_selector(kind k, pid_t id) noexcept : kind_(k), id_(id) {}
    kind kind_;
    pid_t id_;
};

enum class wait_mode { block, no_hang };

struct child_event {
    pid_t pid;
    wait_status status;
};
struct no_children {};  // ECHILD: nothing matches the selector
struct no_change {};    // no_hang and nothing has happened yet
using wait_result = std::variant<child_event, no_children, no_change>;

// EINTR is retried. Other errors (EINVAL) throw std::system_error.
wait_result wait_child(wait_selector selector, wait_events events = wait_events::exit,
                       wait_mode mode = wait_mode::block);

}  // namespace brood
