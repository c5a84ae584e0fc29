#include "supervisor/duration.hpp"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>

namespace brood::supervisor {
namespace {

// About 31 years: far beyond any sensible timeout, and far from overflowing a timer's arithmetic.
constexpr double max_milliseconds = 1e12;

std::optional<std::chrono::milliseconds> from_milliseconds(double ms) {
    if (!std::isfinite(ms) || std::fabs(ms) > max_milliseconds) return std::nullopt;
    return std::chrono::milliseconds(std::llround(ms));
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    const bool negative = text.starts_with('-');
    if (negative) text.remove_prefix(1);
    const std::size_t unit_at = text.find_first_not_of(".0123456789");
    if (unit_at == 0 || unit_at == std::string_view::npos) return std::nullopt;
    const std::string_view number = text.substr(0, unit_at), unit = text.substr(unit_at);
    double scale = 0;
    if (unit == "ms") scale = 1;
    else if (unit == "s") scale = 1e3;
    else if (unit == "m") scale = 60e3;
    else if (unit == "h") scale = 3600e3;
    else return std::nullopt;
    double value = 0;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value, std::chars_format::fixed);
    if (error != std::errc() || end != number.data() + number.size()) return std::nullopt;
    return from_milliseconds((negative ? -value : value) * scale);
}

std::optional<std::chrono::milliseconds> duration_from_seconds(double seconds) {
    return from_milliseconds(seconds * 1e3);
}

std::string format_duration(std::chrono::milliseconds d) {
    const std::int64_t ms = d.count();
    if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
    if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
    if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
    if (std::llabs(ms) < 1000) return std::to_string(ms) + "ms";
    // Whole seconds, then the milliseconds without trailing zeros: 1250 -> "1.25s".
    std::string fraction = std::to_string(1000 + std::llabs(ms) % 1000).substr(1);
    while (fraction.back() == '0') fraction.pop_back();
    return (ms < 0 ? "-" : "") + std::to_string(std::llabs(ms) / 1000) + "." + fraction + "s";
}

}  // namespace brood::supervisor
