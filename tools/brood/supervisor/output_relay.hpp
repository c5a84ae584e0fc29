// Carries one stream (stdout or stderr) of a program instance's output to its log file and,
// prefixed with "name.N | ", to brood up's own output (stdout_queue).
//
//   output_relay relay(std::move(pipe_read_end), {.log = &log, .config = &program.log, .instance = "web.0",
//                      .stream = output_stream::err, .live = prefix, .out = &queue, .clock = now});
//   loop.add_fd(relay.fd(), EPOLLIN, [&](int, std::uint32_t) {
//       if (!relay.drain()) { loop.remove_fd(relay.fd()); /* then destroy the relay */ }
//   });
//
// Lines are passed on whole, in log_line.hpp's format, each stamped with the time it was read. A
// line is held until its newline comes while it is at most max_line bytes; a longer one is passed
// on as it comes, so a program printing without newlines cannot grow brood's memory: a plain log
// still gets it whole, the live output in pieces, each on a line of its own, those after the first
// behind live_prefix::continued. At end of file a last line without a newline is ended with one.
//
// Stream tty reads a pseudo-terminal's master (tty = true): its end is EIO, once no process has
// the terminal open, not end of file; the terminal's "\r\n" line ends come to the log as "\n",
// and every byte read goes, as it was read, to mirror (an attached client's terminal) as well.
//
// With log.to = "stdout" there is no log file: the lines, in the log's format, go to brood's own
// output behind the prefix (json lines without it: they name their instance).
// Not thread-safe; meant for one event loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <brood/unique_fd.hpp>

#include "supervisor/live_prefix.hpp"
#include "supervisor/log_file.hpp"
#include "supervisor/log_line.hpp"
#include "supervisor/stdout_queue.hpp"

namespace brood::supervisor {

struct relay_destination {
    log_file* log = nullptr;          // outlives the relay; none with log.to = "stdout"
    const log_config* config = nullptr;  // the format; outlives the relay
    std::string instance;             // "web.0"
    output_stream stream = output_stream::out;
    std::optional<live_prefix> live;  // none: lines go to the log only
    stdout_queue* out = nullptr;      // where live lines go; needed with live
    std::function<std::string()> clock;  // now, RFC 3339; needed with timestamps or json
    std::function<void(std::string_view)> mirror;  // stream tty: each read, unchanged; may be empty
};

class output_relay {
public:
    static constexpr std::size_t max_line = log_config::smallest_max_size;
    // Read per drain(), at most: past it the loop serves its other fds, and what the program writes
    // meanwhile waits in the pipe, which makes the program wait once the pipe is full.
    static constexpr std::size_t budget = 64 * 1024;

    // Makes the pipe non-blocking. A pipe or a terminal's master brood made: O_NONBLOCK is its only
    // status flag afterwards.
    output_relay(unique_fd pipe_read_end, relay_destination to);
    ~output_relay();
    output_relay(const output_relay&) = delete;
    output_relay& operator=(const output_relay&) = delete;

    // The pipe's read end, to watch for EPOLLIN (level-triggered).
    int fd() const { return pipe_.get(); }

    // Reads what is available without blocking, up to budget (the fd stays readable and the loop
    // calls again). Returns false at end of file, after passing on a last partial line. Throws
    // std::system_error only when the pipe cannot be read: a log that cannot be written counts its
    // loss itself (log_file), and so does brood's output (stdout_queue).
    bool drain();
    // What has been read ends here: a last partial line is passed on as a whole one. drain() does
    // this at end of file; a pipe that outlives its writer (each health check in turn) calls it.
    void end_line();
    // As end_line(), but after what is in the pipe now and has not been read yet: drain() ends the
    // line once it has read that far, however many drains it takes (brood's output full, or more
    // than one budget), and what a later writer adds starts a line of its own.
    void end_line_after_unread();
    // The last drain() read all there was: it stopped at an empty pipe, not at its budget.
    bool emptied() const { return emptied_; }
    // brood's output is full: stop watching fd() until resume is called (stdout_queue::when_room).
    bool should_wait() const { return to_.live && to_.out->full(); }
    void wait(std::function<void()> resume);

private:
    void take(std::string_view bytes);
    void take_from_terminal(std::string_view bytes);
    void pass_on(std::string_view lines);
    void add_live(std::string& shown, std::string_view piece, bool starts, bool ends, const log_line_source& source) const;

    unique_fd pipe_;
    relay_destination to_;
    std::string pending_;            // the start of a line whose newline has not come yet
    bool inside_long_line_ = false;  // a line longer than max_line is being passed on
    bool line_open_ = false;         // what was passed on last ended inside a line
    bool held_return_ = false;       // stream tty: a read ended with '\r', maybe half of "\r\n"
    bool emptied_ = false;           // see emptied()
    std::uint64_t read_total_ = 0;   // bytes read from the pipe so far
    std::deque<std::uint64_t> line_ends_;  // read_total_ values at which a line ends (end_line_after_unread)
};

}  // namespace brood::supervisor
