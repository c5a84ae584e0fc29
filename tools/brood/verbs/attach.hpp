// brood attach NAME.N: the user's terminal joined to an instance's pseudo-terminal (tty = true),
// through brood up, which relays (docs/supervisor.md, "Interactive programs"):
//
//   brood attach web.0      # keys go to the program, its output comes back; Ctrl-] detaches
//
// The user's terminal is put in raw mode (each key goes as typed: ^C reaches the program as its
// terminal's SIGINT, not brood attach) and restored however brood attach ends: Ctrl-], the
// program's end, SIGTERM, SIGHUP or SIGINT sent to it, an error. A change of window size
// (SIGWINCH) is sent to brood up as a resize request, on a connection of its own.
#pragma once

#include <filesystem>
#include <string>

namespace brood::cli {

// The byte that detaches: Ctrl-], as telnet's escape.
inline constexpr char detach_key = 0x1d;

// Returns brood's exit code: 0 after a detach or the program's end, 1 when the attach is refused.
int attach_terminal(const std::filesystem::path& socket, const std::string& target);

}  // namespace brood::cli
