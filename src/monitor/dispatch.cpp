// One turn of the loop: which sources are ready, in an order that keeps each child's events in
// the order they happened (its stop before its exit), then the user's fd callbacks and tasks.
#include <algorithm>
#include <array>
#include <chrono>
#include <optional>
#include <utility>

#include <signal.h>

#include <brood/reaper.hpp>

#include "monitor/monitor_state.hpp"
#include "reaper/reap_unowned.hpp"

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

// A batch per turn: a storm of thousands of orphans is handed out as it is reaped, through the
// same few pages of queue (fresh pages are what such a storm would cost most), and the loop's
// other sources get their turns in between. A full batch leaves the loop awake for the rest.
void reap_unowned_children(monitor_state& state) {
    std::array<reaped_orphan, orphan_batch> batch;
    const std::size_t n = reap_unowned(batch);
    for (std::size_t i = 0; i < n; ++i) {
        monitor::event e;
        e.from = monitor::source::orphan;
        e.pid = batch[i].pid;
        e.status = batch[i].status;
        state.queue.push_back(std::move(e));
    }
    state.orphans_pending = n == batch.size();
}

// What a SIGCHLD may mean beyond the pidfds: a stop or continue, an orphan's exit.
void do_sigchld_work(monitor_state& state) {
    state.sigchld_work_due.reset();
    if (state.options.report_stops) drain_stops(state);
    if (state.options.init_of_tree) reap_unowned_children(state);
}

bool only_watched_exits(const monitor_state& state, std::span<const signal_source::note> notes, std::size_t read) {
    if (read == 0 || read > notes.size()) return false;
    return std::all_of(notes.begin(), notes.begin() + static_cast<std::ptrdiff_t>(read), [&](const auto& n) {
        const bool exit = n.code == CLD_EXITED || n.code == CLD_KILLED || n.code == CLD_DUMPED;
        return exit && state.children.find_pid(n.pid) != 0;
    });
}

void on_signals(monitor_state& state) {
    std::array<signal_source::note, 4> notes;
    const std::size_t others = state.signals_read.size();
    const std::size_t read = state.signals->drain(notes, state.signals_read);
    // Only the program's signals were read: no SIGCHLD work. Nothing at all: a SIGCHLD may have
    // been read elsewhere (a thread that did not block it), so the work is done to be sure.
    if (!state.signals->reads_sigchld() || (read == 0 && state.signals_read.size() > others)) return;
    if (!only_watched_exits(state, notes, read)) {
        do_sigchld_work(state);
    } else if (!state.sigchld_work_due) {
        state.sigchld_work_due = std::chrono::steady_clock::now() + sigchld_deferral;
    }
}

// How long a wait may last: the caller's timeout (-1: none), cut short by deferred SIGCHLD work and,
// while no timerfd stands for them (monitor::fd), by the earliest timer.
std::optional<std::chrono::nanoseconds> wait_limit(monitor_state& state, int timeout_ms) {
    std::optional<std::chrono::steady_clock::time_point> until = state.sigchld_work_due;
    if (!state.timerfd_watched) {
        if (const auto timer = state.timers.next_deadline()) until = until ? std::min(*until, *timer) : *timer;
    }
    std::optional<std::chrono::nanoseconds> limit;
    if (timeout_ms >= 0) limit = std::chrono::milliseconds(timeout_ms);
    if (until) {
        const auto left = std::max(std::chrono::nanoseconds(0), *until - std::chrono::steady_clock::now());
        limit = limit ? std::min(*limit, left) : left;
    }
    return limit;
}

// The program's signals, to receive_signals' callback. Taken from the list first: the callback may
// throw (the rest are then lost, as an exception from an fd callback loses that turn's others).
void deliver_signals(monitor_state& state) {
    std::vector<monitor::signal_info> read;
    read.swap(state.signals_read);
    const std::shared_ptr<monitor::signal_callback> callback = state.on_signal;
    for (const monitor::signal_info& info : read) (*callback)(info);
}

}  // namespace

// The tasks queued when it starts, not those they post: a task that posts itself again would
// otherwise keep the turn from ending. Those are pushed with a wake-up (post_task) for the next turn.
void run_tasks(monitor& loop, monitor_state& state) {
    state.turn_tasks = false;
    state.in_task = true;
    try {
        for (std::size_t n = state.tasks.size(); n > 0; --n) {
            auto task = state.tasks.pop();
            if (!task) break;
            task->run(loop);
        }
    } catch (...) {
        state.in_task = false;
        state.tasks.wake();  // the tasks behind the one that threw still need a turn
        throw;
    }
    state.in_task = false;
}

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
    // Tasks that tasks posted (post_task) are this turn's: it looks at its sources without sleeping.
    if (std::exchange(state.next_turn_tasks, false)) {
        state.turn_tasks = true;
        timeout_ms = 0;
    }
    // SIGCHLD work put off (on_signals) is done once nothing is ready, before the loop would sleep.
    const bool work_put_off = state.sigchld_work_due && timeout_ms != 0;
    std::size_t n = state.epoll.wait(state.ready, work_put_off ? std::optional(std::chrono::nanoseconds(0))
                                                               : wait_limit(state, timeout_ms));
    if (work_put_off && n == 0) {
        do_sigchld_work(state);
        if (state.queue.empty()) n = state.epoll.wait(state.ready, wait_limit(state, timeout_ms));
    }
    bool signal = false, timer = false, wake = false;
    for (std::size_t i = 0; i < n; ++i) {
        switch (key_kind(state.ready[i].data.u64)) {
            case source_kind::signal: signal = true; break;
            case source_kind::timer: timer = true; break;
            case source_kind::wake: wake = true; break;
            case source_kind::child:
            case source_kind::fd: break;
        }
    }
    if (signal) {
        on_signals(state);
    } else if (state.orphans_pending) {
        reap_unowned_children(state);
    }
    for (std::size_t i = 0; i < n; ++i)
        if (key_kind(state.ready[i].data.u64) == source_kind::child) reap_exit(state, key_payload(state.ready[i].data.u64));
    // After this turn's exits: a child's stop cannot be pending once it is dead, so order holds. An
    // embedding loop waits on fd(), which a deadline of the loop's own does not make readable: for
    // it the work is not put off past the turn.
    if (state.sigchld_work_due && (state.fd_given || std::chrono::steady_clock::now() >= *state.sigchld_work_due))
        do_sigchld_work(state);
    if (timer || !state.timerfd_watched) state.timers.fire_due(state.queue);
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint64_t key = state.ready[i].data.u64;
        if (key_kind(key) != source_kind::fd) continue;
        // Looked up again for each fd: an earlier callback may have removed this watch.
        if (auto callback = state.fds.callback(key_payload(key)))
            (*callback)(static_cast<int>(static_cast<std::uint32_t>(key)), state.ready[i].events);
    }
    if (!state.signals_read.empty()) deliver_signals(state);
    if (wake) {
        state.tasks.clear();
        state.wake_rung = false;
    }
    if (wake || state.turn_tasks) run_tasks(loop, state);
    // Orphans left to reap: the next turn must not sleep, and fd() stays readable for an embedding loop.
    if (state.orphans_pending && !state.wake_rung) {
        state.tasks.wake();
        state.wake_rung = true;
    }
}

}  // namespace brood::detail
