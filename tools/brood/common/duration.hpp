// Durations on the command line: "5s", "500ms", "1.5s", "2m", or a plain number of seconds.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace brood::cli {

// nullopt for anything else, and for negative durations.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

}  // namespace brood::cli
