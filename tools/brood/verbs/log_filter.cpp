#include "verbs/log_filter.hpp"

#include <nlohmann/json.hpp>

namespace brood::cli {

namespace {

struct stamp {
    std::string time;
    std::string stream;
};

// "2026-12-06T20:49:53.123456Z stdout ..." or {"time":...,"stream":...}.
std::optional<stamp> stamp_of(std::string_view line, bool json) {
    if (json) {
        const nlohmann::json object = nlohmann::json::parse(line, nullptr, false);
        if (!object.is_object() || !object.contains("time") || !object.contains("stream")) return std::nullopt;
        if (!object["time"].is_string() || !object["stream"].is_string()) return std::nullopt;
        return stamp{object["time"], object["stream"]};
    }
    const std::size_t time_end = line.find(' ');
    if (time_end == std::string_view::npos || time_end == 0 || line[time_end - 1] != 'Z') return std::nullopt;
    const std::string_view rest = line.substr(time_end + 1);
    const std::size_t stream_end = std::min(rest.find(' '), rest.size());
    return stamp{std::string(line.substr(0, time_end)), std::string(rest.substr(0, stream_end))};
}

}  // namespace

bool keeps(const log_filter& filter, std::string_view line) {
    const std::optional<stamp> s = stamp_of(line, filter.json);
    if (!s) return false;
    if (filter.since && s->time < *filter.since) return false;
    return !filter.stream || s->stream == *filter.stream;
}

}  // namespace brood::cli
