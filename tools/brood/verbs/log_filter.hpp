// brood logs --since and --stream: which lines of a log file to print, read from the time and
// stream brood wrote into each line (log.timestamps = true, or log.format = "json"). A plain log
// without timestamps records neither, so it cannot be filtered: brood logs refuses.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace brood::cli {

struct log_filter {
    bool json = false;                  // the log's format; else plain with timestamps
    std::optional<std::string> since;   // RFC 3339 in UTC, as brood writes it: compared as text
    std::optional<std::string> stream;  // "stdout", "stderr" or "tty"
};

// Whether line is printed. A line that carries no time or stream (one of brood's own, "brood: N
// bytes of output lost") is not.
bool keeps(const log_filter& filter, std::string_view line);

}  // namespace brood::cli
