#include "monitor/timer_queue.hpp"

#include <algorithm>
#include <cerrno>

#include <sys/timerfd.h>
#include <unistd.h>

#include <brood/error.hpp>

namespace brood::detail {
namespace {

// std::push_heap builds a max-heap: "later" is "less" so the earliest deadline is on top; ids break
// ties so timers due together fire in the order they were added.
bool fires_later(const auto& a, const auto& b) noexcept {
    return a.deadline != b.deadline ? a.deadline > b.deadline : a.id > b.id;
}

}  // namespace

int timer_queue::timerfd() {
    if (!fd_) {
        fd_.reset(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
        if (!fd_) throw_errno(errno, "timerfd_create for brood::monitor");
        rearm();
    }
    return fd_.get();
}

std::uint64_t timer_queue::add(time_point deadline, std::uint64_t tag) {
    const std::uint64_t id = next_id_++;
    heap_.push_back({deadline, id});
    std::push_heap(heap_.begin(), heap_.end(), fires_later<entry, entry>);
    live_.emplace(id, tag);
    rearm();
    return id;
}

bool timer_queue::cancel(std::uint64_t id) {
    if (live_.erase(id) == 0) return false;
    if (heap_.size() > 64 && heap_.size() > 2 * live_.size()) {
        std::erase_if(heap_, [this](const entry& e) { return !live_.contains(e.id); });
        std::make_heap(heap_.begin(), heap_.end(), fires_later<entry, entry>);
    }
    rearm();
    return true;
}

std::optional<timer_queue::time_point> timer_queue::next_deadline() {
    drop_dead_top();
    if (heap_.empty()) return std::nullopt;
    return heap_.front().deadline;
}

void timer_queue::fire_due(std::deque<monitor::event>& out) {
    if (fd_) {
        std::uint64_t expirations;
        while (::read(fd_.get(), &expirations, sizeof expirations) == -1 && errno == EINTR) {
        }
        armed_.reset();  // a one-shot timerfd is disarmed once it has expired (if it had)
    } else if (live_.empty()) {
        return;
    }
    const time_point now = std::chrono::steady_clock::now();
    for (drop_dead_top(); !heap_.empty() && heap_.front().deadline <= now; drop_dead_top()) {
        std::pop_heap(heap_.begin(), heap_.end(), fires_later<entry, entry>);
        const std::uint64_t id = heap_.back().id;
        heap_.pop_back();
        auto it = live_.find(id);
        monitor::event e;
        e.from = monitor::source::timer;
        e.timer = monitor::timer_id{id};
        e.tag = it->second;
        live_.erase(it);
        out.push_back(std::move(e));
    }
    rearm();
}

void timer_queue::drop_dead_top() {
    while (!heap_.empty() && !live_.contains(heap_.front().id)) {
        std::pop_heap(heap_.begin(), heap_.end(), fires_later<entry, entry>);
        heap_.pop_back();
    }
}

void timer_queue::rearm() {
    if (!fd_) return;
    drop_dead_top();
    std::optional<time_point> want;
    if (!heap_.empty()) want = heap_.front().deadline;
    if (want == armed_) return;
    itimerspec spec{};
    if (want) {
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(want->time_since_epoch()).count();
        // steady_clock is CLOCK_MONOTONIC; an all-zero it_value would disarm, so the past becomes 1 ns.
        spec.it_value.tv_sec = ns > 0 ? ns / 1'000'000'000 : 0;
        spec.it_value.tv_nsec = ns > 0 ? ns % 1'000'000'000 : 1;
    }
    if (::timerfd_settime(fd_.get(), TFD_TIMER_ABSTIME, &spec, nullptr) == -1) throw_errno(errno, "timerfd_settime");
    armed_ = want;
}

}  // namespace brood::detail
