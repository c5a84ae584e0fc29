// Times as brood prints them: RFC 3339 in UTC, sortable and free of the local time zone.
#pragma once

#include <chrono>
#include <string>

namespace brood::cli {

// "2026-11-23T13:40:31.123456Z".
std::string timestamp(std::chrono::system_clock::time_point time);

}  // namespace brood::cli
