// Health checks that have fallen due, started in the order they fell due, a share of each turn of
// brood's loop at a time. Checks of many instances fall due together (health_schedule.hpp). Started
// all at once, in one turn, they would keep brood from seeing anything else until the last had
// started: each exec check's spawn waits for its exec, and a check often runs its whole life on
// brood's CPU meanwhile, so a check that failed early in a round of 80 was seen once the other 79
// had started. The queue starts checks for at most its budget of a turn (always one), then leaves
// the rest to the next turn, which comes at once, after the exits and requests that came meanwhile.
//
//   health_check_queue due(loop, std::chrono::microseconds(500), [&](std::uint64_t serial) { ... });
//   due.push(serial);   // from a timer's event: the first starts at the end of this turn
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>

#include <brood/monitor.hpp>

namespace brood::supervisor {

class health_check_queue {
public:
    // start(serial) starts the check of the instance with that serial, if it still wants one.
    health_check_queue(monitor& loop, monitor::clock::duration budget, std::function<void(std::uint64_t)> start);
    health_check_queue(const health_check_queue&) = delete;
    health_check_queue& operator=(const health_check_queue&) = delete;

    // Queues the check; it starts in this turn's tasks at the earliest (monitor::post).
    void push(std::uint64_t serial);
    std::size_t size() const { return due_.size(); }

private:
    void start_a_share();
    void post_unless_posted();

    monitor& loop_;
    monitor::clock::duration budget_;
    std::function<void(std::uint64_t)> start_;
    std::deque<std::uint64_t> due_;
    bool posted_ = false;
};

}  // namespace brood::supervisor
