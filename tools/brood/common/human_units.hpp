// Sizes and durations as people read them in a table: "12.3M", "3h07m".
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace brood::cli {

// Binary units, one decimal below 10: "0", "512.0K"... "9.8M", "12M", "1.5G".
std::string human_bytes(std::uint64_t bytes);
// The two largest units: "42s", "12m03s", "3h07m", "2d04h".
std::string human_duration(std::chrono::milliseconds duration);

}  // namespace brood::cli
