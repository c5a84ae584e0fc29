// brood status as a table: one row per instance of the supervisor's status result.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace brood::cli {

// Columns NAME STATE PID UPTIME RESTARTS LAST-EXIT RSS, and START-ERROR when an instance has one;
// "-" where a value is null or missing; then a line for each instance whose output was not all logged:
//   web.0: 913K of output lost; its log is failing: write log "…": ENOSPC: No space left on device
std::string status_table(const nlohmann::json& status);

}  // namespace brood::cli
