// brood status as a table: one row per instance of the supervisor's status result.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace brood::cli {

// Columns NAME STATE PID UPTIME RESTARTS LAST-EXIT RSS, and START-ERROR when an instance has one;
// "-" where a value is null or missing.
std::string status_table(const nlohmann::json& status);

}  // namespace brood::cli
