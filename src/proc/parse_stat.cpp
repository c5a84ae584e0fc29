#include "proc/parse_stat.hpp"

#include <charconv>
#include <cstdint>
#include <vector>

#include <unistd.h>

namespace brood::proc::detail {

namespace {

template <class T>
bool parse_number(std::string_view text, T& value) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    return error == std::errc() && end == text.data() + text.size();
}

// Positions of the fields that follow "(comm)", counted from 0 (proc(5) numbers them from 3).
enum field : std::size_t {
    state = 0, ppid = 1, pgrp = 2, session = 3, utime = 11, stime = 12, num_threads = 17, starttime = 19, rss = 21,
};

}  // namespace

std::optional<process_info> parse_stat(std::string_view line) {
    // comm is free text chosen by the process: it may hold spaces and ')'. The kernel puts nothing
    // after it that contains ')', so the last ')' ends it.
    const std::size_t open = line.find('(');
    const std::size_t close = line.rfind(')');
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) return std::nullopt;

    process_info info;
    if (!parse_number(line.substr(0, line.find_first_not_of("0123456789")), info.pid)) return std::nullopt;
    info.comm = std::string(line.substr(open + 1, close - open - 1));

    std::vector<std::string_view> fields;
    std::string_view rest = line.substr(close + 1);
    while (!rest.empty()) {
        const std::size_t start = rest.find_first_not_of(" \n");
        if (start == std::string_view::npos) break;
        rest.remove_prefix(start);
        const std::size_t end = rest.find_first_of(" \n");
        fields.push_back(rest.substr(0, end));
        rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
    }
    if (fields.size() <= field::rss || fields[field::state].size() != 1) return std::nullopt;

    info.state = fields[field::state][0];
    long rss_pages = 0;
    std::uint64_t user_ticks = 0;
    std::uint64_t system_ticks = 0;
    if (!parse_number(fields[field::utime], user_ticks) || !parse_number(fields[field::stime], system_ticks) ||
        !parse_number(fields[field::ppid], info.ppid) || !parse_number(fields[field::pgrp], info.pgid) ||
        !parse_number(fields[field::session], info.sid) || !parse_number(fields[field::num_threads], info.threads) ||
        !parse_number(fields[field::starttime], info.start_time) || !parse_number(fields[field::rss], rss_pages))
        return std::nullopt;
    info.cpu_ticks = user_ticks + system_ticks;
    // rss is a signed count that can briefly read below zero while the process exits.
    if (rss_pages > 0)
        info.rss_bytes = static_cast<std::uint64_t>(rss_pages) * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
    return info;
}

}  // namespace brood::proc::detail
