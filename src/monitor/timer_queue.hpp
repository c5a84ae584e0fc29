// The monitor's timers: a min-heap of deadlines. The monitor's own waits end at the earliest; a
// timerfd armed for it exists only once an embedding loop asks for the monitor's fd (monitor::fd),
// which must then become readable by itself, or when timers must not be late (precise_timers). A
// start (brood run's) saves the fd and four calls.
//
// Cancelling only forgets the id; its heap entry is skipped when it surfaces, and the heap is
// rebuilt when such dead entries outnumber the live ones, so memory stays O(live timers).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

#include <brood/monitor.hpp>
#include <brood/unique_fd.hpp>

namespace brood::detail {

class timer_queue {
public:
    using time_point = std::chrono::steady_clock::time_point;

    // From now on a timerfd is kept armed for the earliest deadline; returns it (created once).
    int timerfd();
    std::uint64_t add(time_point deadline, std::uint64_t tag);
    bool cancel(std::uint64_t id);
    std::size_t size() const noexcept { return live_.size(); }
    // The earliest live deadline, if any.
    std::optional<time_point> next_deadline();
    // Queues an event for every timer that is due, earliest first (and clears the timerfd).
    void fire_due(std::deque<monitor::event>& out);

private:
    struct entry {
        time_point deadline;
        std::uint64_t id;
    };
    void drop_dead_top();
    void rearm();

    unique_fd fd_;
    std::vector<entry> heap_;
    std::unordered_map<std::uint64_t, std::uint64_t> live_;  // id -> tag
    std::uint64_t next_id_ = 1;
    std::optional<time_point> armed_;
};

}  // namespace brood::detail
