// How long to wait before restarting a program that keeps failing to start.
#pragma once

#include <chrono>

#include "supervisor/config.hpp"

namespace brood::supervisor {

// The delay before the restart that follows `failed_starts` failed starts in a row (1 for the
// first; 0 counts as 1): initial × 2^(failed_starts − 1), capped at max, then shortened by
// jitter × that × random_unit. random_unit is a uniform draw from [0, 1), so the delay lies in
// [(1 − jitter) × base, base] and never exceeds max.
std::chrono::milliseconds backoff_delay(const backoff_config& config, unsigned failed_starts, double random_unit);

}  // namespace brood::supervisor
