#include "supervisor/health_check_queue.hpp"

#include <utility>

namespace brood::supervisor {

health_check_queue::health_check_queue(monitor& loop, monitor::clock::duration budget,
                                       std::function<void(std::uint64_t)> start)
    : loop_(loop), budget_(budget), start_(std::move(start)) {}

void health_check_queue::push(std::uint64_t serial) {
    due_.push_back(serial);
    post_unless_posted();
}

// A task posted from a task runs in the next turn: the loop is woken for it and does not sleep.
void health_check_queue::post_unless_posted() {
    if (posted_ || due_.empty()) return;
    posted_ = true;
    loop_.post([this](monitor&) { start_a_share(); });
}

// One check at least, so that a turn always makes progress; a check that throws leaves the rest for
// the next turn, as a budget spent does.
void health_check_queue::start_a_share() {
    posted_ = false;
    const monitor::clock::time_point until = monitor::clock::now() + budget_;
    try {
        do {
            const std::uint64_t serial = due_.front();
            due_.pop_front();
            start_(serial);
        } while (!due_.empty() && monitor::clock::now() < until);
    } catch (...) {
        post_unless_posted();
        throw;
    }
    post_unless_posted();
}

}  // namespace brood::supervisor
