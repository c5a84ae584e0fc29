// A token bucket: up to `burst` requests at once, then `per_second` on average.
#pragma once

#include <algorithm>
#include <chrono>

namespace brood::control {

class rate_limit {
public:
    using clock = std::chrono::steady_clock;
    rate_limit(double burst, double per_second) : burst_(burst), per_second_(per_second), tokens_(burst) {}

    // Whether one more request is allowed at now (and counts it).
    bool take(clock::time_point now) {
        const std::chrono::duration<double> earned = now - last_;
        last_ = now;
        tokens_ = std::min(burst_, tokens_ + earned.count() * per_second_);
        if (tokens_ < 1) return false;
        tokens_ -= 1;
        return true;
    }

private:
    double burst_;
    double per_second_;
    double tokens_;
    clock::time_point last_ = clock::now();
};

}  // namespace brood::control
