// Waiting for a process to reach a scheduler state, for tests that look at it from outside: a
// program that has printed "ready" may still be running on its way into pause().
#pragma once

#include <sys/types.h>

namespace brood::testing {

// Polls /proc/PID/stat every millisecond for up to 10 s; the state last read ('?' if none).
char state_within_deadline(pid_t pid, char want);

}  // namespace brood::testing
