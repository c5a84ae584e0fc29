// One turn of the loop: which sources are ready, in an order that keeps each child's events in
// the order they happened (its stop before its exit), then the user's fd callbacks and tasks.
#include <brood/reaper.hpp>

#include "monitor/monitor_state.hpp"

namespace brood::detail {
namespace {

// A watched child's pidfd is readable: it has exited. EPOLLONESHOT keeps a registration that
// outlives the pidfd (a forked copy of it) from firing again; a stale id finds nothing anyway.
void reap_exit(monitor_state& state, std::uint64_t id) {
    watched_child* w = state.children.find(id);
    if (w == nullptr) return;
    if (auto status = w->process.try_wait(wait_events::exit)) {
        report_child(state, id, *status);
        return;
    }
    state.epoll.modify(w->process.pidfd(), EPOLLIN | EPOLLONESHOT, make_key(source_kind::child, id));
}

void reap_adopted_orphans(monitor_state& state) {
    for (const reaped_orphan& orphan : reap_orphans()) {
        monitor::event e;
        e.from = monitor::source::orphan;
        e.pid = orphan.pid;
        e.status = orphan.status;
        state.queue.push_back(std::move(e));
    }
}

void run_tasks(monitor& loop, monitor_state& state) {
    state.tasks.clear();
    state.wake_rung = false;
    try {
        while (auto task = state.tasks.pop()) task->run(loop);
    } catch (...) {
        state.tasks.wake();  // the tasks behind the one that threw still need a turn
        throw;
    }
}

}  // namespace

void report_child(monitor_state& state, std::uint64_t id, const wait_status& status) {
    const watched_child* w = state.children.find(id);
    monitor::event e;
    e.from = monitor::source::child;
    e.pid = w->pid;
    e.status = status;
    e.watch = monitor::watch_id{id};
    e.tag = w->tag;
    state.queue.push_back(std::move(e));
    if (status.terminal()) state.children.erase(id);
}

void poll_sources(monitor& loop, monitor_state& state, int timeout_ms) {
    const std::size_t n = state.epoll.wait(state.ready, timeout_ms);
    bool sigchld = false, timer = false, wake = false;
    for (std::size_t i = 0; i < n; ++i) {
        switch (key_kind(state.ready[i].data.u64)) {
            case source_kind::sigchld: sigchld = true; break;
            case source_kind::timer: timer = true; break;
            case source_kind::wake: wake = true; break;
            case source_kind::child:
            case source_kind::fd: break;
        }
    }
    if (sigchld) {
        state.sigchld->drain();
        if (state.options.report_stops) drain_stops(state);
    }
    for (std::size_t i = 0; i < n; ++i)
        if (key_kind(state.ready[i].data.u64) == source_kind::child) reap_exit(state, key_payload(state.ready[i].data.u64));
    if (sigchld && state.options.report_orphans) reap_adopted_orphans(state);
    if (timer) state.timers.fire_due(state.queue);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t key = state.ready[i].data.u64;
        if (key_kind(key) != source_kind::fd) continue;
        // Looked up again for each fd: an earlier callback may have removed this watch.
        if (auto callback = state.fds.callback(key_payload(key)))
            (*callback)(static_cast<int>(static_cast<std::uint32_t>(key)), state.ready[i].events);
    }
    if (wake) run_tasks(loop, state);
}

}  // namespace brood::detail
