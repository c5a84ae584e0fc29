// Parsing the one line of /proc/PID/stat.
#pragma once

#include <optional>
#include <string_view>

#include <brood/proc.hpp>

namespace brood::proc::detail {

// Fills pid, comm, state, ppid, pgid, sid, threads, start_time, rss_bytes and cpu_ticks (cmdline is left
// empty). nullopt when the line does not have the layout proc(5) describes.
std::optional<process_info> parse_stat(std::string_view line);

}  // namespace brood::proc::detail
