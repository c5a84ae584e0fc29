// Durations as people write them in a config file: "500ms", "2s", "1.5s", "1m", "1h".
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace brood::supervisor {

// A number (decimals allowed, a leading '-' too, so the caller can say why a negative one is wrong)
// followed by one unit: ms, s, m or h. Rounded to whole milliseconds. nullopt for anything else,
// a bare number included: its unit would be a guess.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// Seconds, as a TOML number gives them; nullopt when out of range.
std::optional<std::chrono::milliseconds> duration_from_seconds(double seconds);

// The shortest exact spelling parse_duration reads back: "500ms", "2s", "1.25s", "1m", "1h".
std::string format_duration(std::chrono::milliseconds d);

}  // namespace brood::supervisor
