// Everything a brood::monitor holds, and the loop's internal steps.
#pragma once

#include <array>
#include <atomic>
#include <deque>
#include <chrono>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <sys/epoll.h>

#include <brood/monitor.hpp>

#include "monitor/child_table.hpp"
#include "monitor/epoll_set.hpp"
#include "monitor/fd_watches.hpp"
#include "monitor/signal_source.hpp"
#include "monitor/task_queue.hpp"
#include "monitor/timer_queue.hpp"

namespace brood::detail {

// How long the SIGCHLD work (finding stops, reaping orphans) may wait when the SIGCHLDs read were
// all exits of watched children, which their pidfds report anyway. Such a SIGCHLD may still hide
// a stop raised while it was pending, so the work is put off, not skipped: it is done as soon as
// the loop has nothing ready (poll_sources), and during a storm of exits, which keeps the loop busy,
// the kernel's walk of the children list runs at most once per deferral, not once per turn.
inline constexpr std::chrono::milliseconds sigchld_deferral{100};

// Orphans reaped per turn of the loop (dispatch.cpp).
inline constexpr std::size_t orphan_batch = 64;

struct monitor_state {
    explicit monitor_state(monitor_options opts);

    monitor_options options;
    std::thread::id owner = std::this_thread::get_id();
    epoll_set epoll;
    child_table children;
    timer_queue timers;
    fd_watches fds;
    task_queue tasks;
    // With report_stops or init_of_tree (SIGCHLD), or receive_signals.
    std::unique_ptr<signal_source> signals;
    std::shared_ptr<monitor::signal_callback> on_signal;  // receive_signals' callback
    std::vector<monitor::signal_info> signals_read;       // this turn's, for on_signal
    std::deque<monitor::event> queue;         // gathered, not yet handed out
    std::shared_ptr<monitor::handler> handler;
    std::optional<std::chrono::steady_clock::time_point> sigchld_work_due;  // deferred SIGCHLD work
    std::atomic<bool> stop_requested{false};
    bool busy = false;       // inside run_once / next_event, which do not nest
    bool timerfd_watched = false;  // the timers' timerfd is in the epoll set (watch_timerfd)
    // From now on a due timer makes the epoll fd readable by itself (monitor::fd, precise_timers).
    void watch_timerfd();
    bool wake_rung = false;  // tasks' eventfd rung by the loop: events remain queued, or orphans
    bool orphans_pending = false;  // the last batch of orphans was full: more may wait
    // A task was posted from the loop's own callbacks: it runs at the end of this turn, with no
    // wake-up (post_task, run_tasks).
    bool turn_tasks = false;
    bool in_task = false;  // running posted tasks: what they post waits for the next turn
    // A task posted by a task waits in the queue: the next turn does not sleep, and runs it, with no
    // wake-up. Only while no embedding loop has the epoll fd (fd_given), which needs the eventfd.
    bool next_turn_tasks = false;
    bool fd_given = false;  // monitor::fd() was called
    // Filled by epoll_wait and read up to the count it returns: not zeroed (6 KiB written for
    // nothing at each monitor's construction).
    std::array<epoll_event, 512> ready;
};

// Waits up to timeout_ms (-1: forever) for ready sources, queues their events, and runs the fd
// callbacks and posted tasks that are due.
void poll_sources(monitor& loop, monitor_state& state, int timeout_ms);

// Runs the posted tasks queued now: those this turn's callbacks posted, and those that woke it.
void run_tasks(monitor& loop, monitor_state& state);

// Queues an event for a watched child; a terminal status also ends the watch (the child is reaped).
void report_child(monitor_state& state, std::uint64_t id, const wait_status& status);

// After a SIGCHLD: finds and consumes every pending stop / continue, without reaping anything.
void drain_stops(monitor_state& state);

}  // namespace brood::detail
