#include "supervisor/start_limit.hpp"

#include <algorithm>

namespace brood::supervisor {

bool start_limit_reached(const start_limit_config& limit, const std::vector<std::chrono::milliseconds>& starts,
                         std::chrono::milliseconds up_time) {
    const auto recent = std::count_if(starts.begin(), starts.end(),
                                      [&](std::chrono::milliseconds at) { return up_time - at < limit.interval; });
    return static_cast<unsigned>(recent) >= limit.burst;
}

void record_start(const start_limit_config& limit, std::vector<std::chrono::milliseconds>& starts,
                  std::chrono::milliseconds up_time) {
    starts.push_back(up_time);
    if (starts.size() > limit.burst) starts.erase(starts.begin(), starts.end() - limit.burst);
}

}  // namespace brood::supervisor
