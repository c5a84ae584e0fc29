// The monitor's timers: a min-heap of deadlines behind one timerfd armed for the earliest.
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

    timer_queue();
    int fd() const noexcept { return fd_.get(); }
    std::uint64_t add(time_point deadline, std::uint64_t tag);
    bool cancel(std::uint64_t id);
    std::size_t size() const noexcept { return live_.size(); }
    // Clears the timerfd and queues an event for every timer that is due, earliest first.
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
