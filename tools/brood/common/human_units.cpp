#include "common/human_units.hpp"

#include <iterator>

#include <fmt/core.h>

namespace brood::cli {

std::string human_bytes(std::uint64_t bytes) {
    if (bytes == 0) return "0";
    constexpr const char* units[] = {"K", "M", "G", "T"};
    double value = static_cast<double>(bytes) / 1024;
    std::size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) value /= 1024, ++unit;
    return value < 10 ? fmt::format("{:.1f}{}", value, units[unit]) : fmt::format("{:.0f}{}", value, units[unit]);
}

std::string human_duration(std::chrono::milliseconds duration) {
    const long long s = std::chrono::duration_cast<std::chrono::seconds>(duration).count();
    if (s < 60) return fmt::format("{}s", s < 0 ? 0 : s);
    if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
    if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, s % 3600 / 60);
    return fmt::format("{}d{:02}h", s / 86400, s % 86400 / 3600);
}

}  // namespace brood::cli
