// How a line of a program's output is written into its log (docs/config.md, "Log files"):
//
//   plain                    listening on 8080
//   plain, timestamps        2026-12-06T20:49:53.123456Z stdout listening on 8080
//   json                     {"time":"2026-12-06T20:49:53.123456Z","instance":"web.0","stream":"stdout","line":"listening on 8080"}
//
// Plain without timestamps is the program's output unchanged, so the file reads as if the program
// had written it. A line longer than output_relay::max_line comes in pieces: in plain, the pieces
// after the first are its continuation (no time in front); in json, each piece is an object of its
// own, and the ones the line goes on after have "split":true.
#pragma once

#include <string>
#include <string_view>

#include "supervisor/config.hpp"

namespace brood::supervisor {

// tty: what a program with tty = true wrote to its terminal (stdout and stderr both).
// brood: a line of brood's own about the instance (why a start failed); health: the output of its
// health check (health.exec).
enum class output_stream { out, err, tty, brood, health };

// "stdout", "stderr", "tty", "brood" or "health".
std::string_view stream_name(output_stream stream);

struct log_line_source {
    std::string_view instance;  // "web.0"
    output_stream stream;
    std::string_view time;  // RFC 3339, when brood read the line
};

// Appends piece (without its '\n') in config's format. starts: the piece begins its line; ends: it
// ends it (plain writes the newline only then; json ends every object with one).
void append_log_line(std::string& into, const log_config& config, const log_line_source& source, std::string_view piece,
                     bool starts, bool ends);

}  // namespace brood::supervisor
