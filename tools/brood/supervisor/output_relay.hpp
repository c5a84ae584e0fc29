// Carries one program instance's output (stdout and stderr share one pipe) to its log file and,
// prefixed with "name.N | ", to brood up's own output.
//
//   output_relay relay(std::move(pipe_read_end), log, live_prefix{make_prefix("web", 0, 8, 0, tty)});
//   loop.add_fd(relay.fd(), EPOLLIN, [&](int, std::uint32_t) {
//       if (!relay.drain()) { loop.remove_fd(relay.fd()); /* then destroy the relay */ }
//   });
//
// Lines are passed on whole. A line is held until its newline comes while it is at most max_line
// bytes; a longer one is passed on as it comes, so a program printing without newlines cannot grow
// brood's memory: the log still gets it whole, the live output in pieces, each on a line of its
// own. At end of file a last line without a newline is ended with one.
// Live output is written in full, waiting while it is full: a live_fd nobody reads (a terminal
// paused with Ctrl-S, a pipe to a stopped pager) holds up the loop, as it would a foreground
// program. Not thread-safe; meant for one event loop.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <unistd.h>

#include <brood/unique_fd.hpp>

#include "supervisor/live_prefix.hpp"
#include "supervisor/log_file.hpp"

namespace brood::supervisor {

class output_relay {
public:
    static constexpr std::size_t max_line = log_config::smallest_max_size;
    // Read per drain(), at most: past it the loop serves its other fds, and what the program writes
    // meanwhile waits in the pipe, which makes the program wait once the pipe is full.
    static constexpr std::size_t budget = 64 * 1024;

    // Makes the pipe non-blocking. log must outlive the relay. Without live, lines go to the log only.
    output_relay(unique_fd pipe_read_end, log_file& log, std::optional<live_prefix> live, int live_fd = STDOUT_FILENO);

    // The pipe's read end, to watch for EPOLLIN (level-triggered).
    int fd() const { return pipe_.get(); }

    // Reads what is available without blocking, up to budget (the fd stays readable and the loop
    // calls again). Returns false at end of file, after passing on a last partial line. Throws
    // std::system_error only when the pipe cannot be read: a log that cannot be written counts its
    // loss itself (log_file), and a failing live output is ignored (the log has every line).
    bool drain();

private:
    void take(std::string_view bytes);
    void pass_on(std::string_view lines);

    unique_fd pipe_;
    log_file* log_;
    std::optional<live_prefix> live_;
    int live_fd_;
    std::string pending_;            // the start of a line whose newline has not come yet
    bool inside_long_line_ = false;  // a line longer than max_line is being passed on
};

}  // namespace brood::supervisor
