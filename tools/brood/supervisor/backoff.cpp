#include "supervisor/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace brood::supervisor {

std::chrono::milliseconds backoff_delay(const backoff_config& config, unsigned failed_starts, double random_unit) {
    // Doubling in integers, stopping at the cap: no overflow however many failures there were.
    std::chrono::milliseconds base = std::min(config.initial, config.max);
    for (unsigned n = 1; n < failed_starts && base < config.max; ++n) base = std::min(base * 2, config.max);
    if (base.count() <= 0) return base;  // 0 doubles to 0: nothing to shorten
    const double unit = std::clamp(random_unit, 0.0, 1.0);
    const auto cut = std::llround(static_cast<double>(base.count()) * config.jitter * unit);
    return base - std::chrono::milliseconds(cut);
}

}  // namespace brood::supervisor
