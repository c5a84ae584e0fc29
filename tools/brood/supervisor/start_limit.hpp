// The start limit: when a program is started too often, it becomes fatal instead of restarting.
//
// Starts are counted on the program's own running-time clock (its up time summed over its runs),
// not on the wall clock. Waiting in backoff does not move that clock, so however long the backoff
// grows, a program that dies at once still reaches the limit after `burst` starts; a program that
// runs a long time between crashes never does. The backoff slows restarts down; the limit decides
// when to stop trying. Neither undoes the other.
#pragma once

#include <chrono>
#include <vector>

#include "supervisor/config.hpp"

namespace brood::supervisor {

// True when `burst` or more of the recorded starts lie within `interval` of running time before
// up_time: one more start would be one too many. An interval of 0 turns the limit off.
bool start_limit_reached(const start_limit_config& limit, const std::vector<std::chrono::milliseconds>& starts,
                         std::chrono::milliseconds up_time);

// Records a start at up_time, keeping only the last `burst`: older ones can no longer matter.
void record_start(const start_limit_config& limit, std::vector<std::chrono::milliseconds>& starts,
                  std::chrono::milliseconds up_time);

}  // namespace brood::supervisor
