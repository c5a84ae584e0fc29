#include "supervisor/health_schedule.hpp"

#include <algorithm>

namespace brood::supervisor {

std::chrono::nanoseconds health_check_grid(std::chrono::nanoseconds interval) {
    return std::clamp(interval / 100, std::chrono::nanoseconds(1), std::chrono::nanoseconds(std::chrono::milliseconds(100)));
}

std::chrono::steady_clock::time_point next_check_due(std::chrono::steady_clock::time_point now,
                                                     std::chrono::nanoseconds interval) {
    const std::chrono::nanoseconds grid = health_check_grid(interval);
    const auto due = std::chrono::duration_cast<std::chrono::nanoseconds>((now + interval).time_since_epoch());
    const auto rounded = (due + grid - std::chrono::nanoseconds(1)) / grid * grid;
    return std::chrono::steady_clock::time_point(std::chrono::duration_cast<std::chrono::steady_clock::duration>(rounded));
}

}  // namespace brood::supervisor
