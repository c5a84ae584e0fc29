#include "common/duration.hpp"

#include <charconv>
#include <cmath>

namespace brood::cli {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || !std::isfinite(value) || value < 0) return std::nullopt;
    const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    double scale = 0;
    if (unit.empty() || unit == "s") {
        scale = 1000;
    } else if (unit == "ms") {
        scale = 1;
    } else if (unit == "m" || unit == "min") {
        scale = 60'000;
    } else if (unit == "h") {
        scale = 3'600'000;
    } else {
        return std::nullopt;
    }
    const double ms = std::round(value * scale);
    if (ms > 1e15) return std::nullopt;  // far beyond any sensible grace; keeps the cast defined
    return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

}  // namespace brood::cli
