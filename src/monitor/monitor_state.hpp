// Everything a brood::monitor holds, and the loop's internal steps.
#pragma once

#include <array>
#include <atomic>
#include <deque>
#include <memory>
#include <thread>

#include <sys/epoll.h>

#include <brood/monitor.hpp>

#include "monitor/child_table.hpp"
#include "monitor/epoll_set.hpp"
#include "monitor/fd_watches.hpp"
#include "monitor/sigchld_source.hpp"
#include "monitor/task_queue.hpp"
#include "monitor/timer_queue.hpp"

namespace brood::detail {

struct monitor_state {
    explicit monitor_state(monitor_options opts);

    monitor_options options;
    std::thread::id owner = std::this_thread::get_id();
    epoll_set epoll;
    child_table children;
    timer_queue timers;
    fd_watches fds;
    task_queue tasks;
    std::unique_ptr<sigchld_source> sigchld;  // only with report_stops or report_orphans
    std::deque<monitor::event> queue;         // gathered, not yet handed out
    std::shared_ptr<monitor::handler> handler;
    std::atomic<bool> stop_requested{false};
    bool busy = false;       // inside run_once / next_event, which do not nest
    bool wake_rung = false;  // tasks' eventfd rung by the loop because events remain queued
    std::array<epoll_event, 512> ready{};
};

// Waits up to timeout_ms (-1: forever) for ready sources, queues their events, and runs the fd
// callbacks and posted tasks that are due.
void poll_sources(monitor& loop, monitor_state& state, int timeout_ms);

// Queues an event for a watched child; a terminal status also ends the watch (the child is reaped).
void report_child(monitor_state& state, std::uint64_t id, const wait_status& status);

// After a SIGCHLD: finds and consumes every pending stop / continue, without reaping anything.
void drain_stops(monitor_state& state);

}  // namespace brood::detail
