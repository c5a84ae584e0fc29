#include "verbs/status_table.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <vector>

#include <fmt/core.h>

#include "common/human_units.hpp"

namespace brood::cli {
namespace {

// HEALTH only when an instance has a health check, START-ERROR only when one has a start error: most
// of the time neither has anything to say.
constexpr std::size_t columns = 9;
constexpr std::size_t health_column = 2;
constexpr std::size_t start_error_column = 8;
using row = std::array<std::string, columns>;

// The field's text, or "-" when the supervisor sent null (no process, never exited...).
std::string text_of(const nlohmann::json& instance, const char* key) {
    const auto it = instance.find(key);
    if (it == instance.end() || it->is_null()) return "-";
    if (it->is_string()) return it->get<std::string>();
    return it->dump();
}

template <class Format>
std::string number_of(const nlohmann::json& instance, const char* key, Format format) {
    const auto it = instance.find(key);
    if (it == instance.end() || !it->is_number_unsigned()) return "-";
    return format(it->get<std::uint64_t>());
}

}  // namespace

std::string status_table(const nlohmann::json& status) {
    std::vector<row> rows{{"NAME", "STATE", "HEALTH", "PID", "UPTIME", "RESTARTS", "LAST-EXIT", "RSS", "START-ERROR"}};
    std::array<bool, columns> shown{true, true, false, true, true, true, true, true, false};
    for (const auto& instance : status.value("instances", nlohmann::json::array())) {
        const std::string start_error = text_of(instance, "start_error");
        const std::string health = text_of(instance, "health");
        if (start_error != "-") shown[start_error_column] = true;
        if (health != "-") shown[health_column] = true;
        rows.push_back({text_of(instance, "name"), text_of(instance, "state"), health, text_of(instance, "pid"),
                        number_of(instance, "uptime_ms",
                                  [](std::uint64_t ms) { return human_duration(std::chrono::milliseconds(ms)); }),
                        text_of(instance, "restarts"), text_of(instance, "last_exit"),
                        number_of(instance, "rss_bytes", [](std::uint64_t bytes) { return human_bytes(bytes); }),
                        start_error});
    }
    std::array<std::size_t, columns> width{};
    for (const row& r : rows)
        for (std::size_t c = 0; c < columns; ++c) width[c] = std::max(width[c], r[c].size());
    std::string table;
    for (const row& r : rows) {
        std::string line;
        for (std::size_t c = 0; c < columns; ++c) {
            if (!shown[c]) continue;
            const bool numeric = c == 3 || c == 5 || c == 7;  // PID, RESTARTS, RSS align right
            if (!line.empty()) line += "  ";
            line += numeric ? fmt::format("{:>{}}", r[c], width[c]) : fmt::format("{:<{}}", r[c], width[c]);
        }
        line.erase(line.find_last_not_of(' ') + 1);
        table += line + '\n';
    }
    for (const auto& instance : status.value("instances", nlohmann::json::array())) {
        const std::string lost = number_of(instance, "log_lost_bytes", [](std::uint64_t bytes) {
            return bytes < 1024 ? fmt::format("{} bytes", bytes) : human_bytes(bytes);
        });
        const std::string error = text_of(instance, "log_error");
        if (error != "-") {
            table += fmt::format("{}: {} of output lost; its log is failing: {}\n", text_of(instance, "name"), lost, error);
        } else if (lost != "-" && lost != "0 bytes") {
            table += fmt::format("{}: {} of output lost while its log was failing\n", text_of(instance, "name"), lost);
        }
        if (const std::string notified = text_of(instance, "notified"); notified != "-")
            table += fmt::format("{}: says \"{}\"\n", text_of(instance, "name"), notified);
        if (const std::string failure = text_of(instance, "health_failure"); failure != "-") {
            // Failures in a row are counted while a checked process runs; the reason stays after it.
            const std::string in_a_row = text_of(instance, "health_failures");
            std::string count;
            if (text_of(instance, "health") != "-") count = in_a_row == "0" ? " (one has passed since)" : " (" + in_a_row + " in a row)";
            table += fmt::format("{}: last health check failed: {}{}\n", text_of(instance, "name"), failure, count);
        }
        if (const std::string waiting = text_of(instance, "waiting"); waiting != "-")
            table += fmt::format("{}: {}\n", text_of(instance, "name"), waiting);
    }
    return table;
}

}  // namespace brood::cli
