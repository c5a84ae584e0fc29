// Signal names both ways. Numbers differ between systems (SIGSTOP is 19 on Linux, 17 on macOS),
// so brood shows and accepts names: "SIGTERM", "TERM", "term", or a number as text.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace brood {

// "SIGTERM" for 15; real-time signals as "SIGRTMIN+3"; "signal 99" for a number with no name.
std::string signal_name(int signal);

// Parses "SIGTERM", "TERM", "term", "15", "RTMIN+2". nullopt if no such signal exists here.
std::optional<int> parse_signal(std::string_view text) noexcept;

// As parse_signal, but throws std::invalid_argument naming the text when it is not a signal.
int signal_number(std::string_view text);

}  // namespace brood
