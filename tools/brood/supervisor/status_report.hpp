// What the status verb answers for one instance (docs/protocol.md):
//   {"program":"web","instance":0,"name":"web.0","state":"running","pid":456,"since":"...Z",
//    "uptime_ms":1234,"restarts":2,"last_exit":"exited with code 3","start_error":null,"rss_bytes":123456,
//    "log":"/abs/...","log_lost_bytes":0,"log_error":null}
// memory_bytes and cpu_seconds are those of the instance's cgroup when it has one (every process in
// it), else of its leader's (rss_bytes, utime + stime).
// pid, uptime_ms, last_exit, start_error and rss_bytes are null when there is nothing to say;
// log_error is the failure of a log that cannot be written now, log_lost_bytes all the output
// that was not logged. health is "starting", "healthy" or "unhealthy" while a process with a health
// check runs, null otherwise; health_failure, why its last check failed; health_failures, how many
// failed in a row.
#pragma once

#include <nlohmann/json.hpp>

#include "supervisor/instance.hpp"
#include "supervisor/instance_figures.hpp"

namespace brood::supervisor {

// Reads the instance's usage through its held files (supervisor/instance_usage.hpp).
instance_figures figures_of(const instance& which);
nlohmann::json instance_status(const instance& which);

}  // namespace brood::supervisor
