// When an instance's next health check is due: an interval after the last one ended, rounded up to
// a multiple of a hundredth of the interval (at most 100 ms) on the monotonic clock. Checks of
// several instances that would fall due within the same hundredth then fall due together: brood runs
// them in one turn of its loop, one spawn after another, and wakes once for them rather than once
// for each. A check is never due early, and never more than a hundredth of its interval late.
//
//   loop.add_timer(next_check_due(monitor::clock::now(), health.interval), tag);
#pragma once

#include <chrono>

namespace brood::supervisor {

// The grid the due times are rounded up to: interval / 100, between 1 ns and 100 ms.
std::chrono::nanoseconds health_check_grid(std::chrono::nanoseconds interval);

std::chrono::steady_clock::time_point next_check_due(std::chrono::steady_clock::time_point now,
                                                     std::chrono::nanoseconds interval);

}  // namespace brood::supervisor
