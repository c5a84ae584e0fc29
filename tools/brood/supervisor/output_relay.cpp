#include "supervisor/output_relay.hpp"

#include <algorithm>
#include <cerrno>

#include <fcntl.h>
#include <sys/ioctl.h>

#include <brood/error.hpp>

namespace brood::supervisor {

namespace {

constexpr std::size_t read_size = 64 * 1024;

}  // namespace

output_relay::output_relay(unique_fd pipe_read_end, relay_destination to) : pipe_(std::move(pipe_read_end)), to_(std::move(to)) {
    // A pipe or a terminal's master that brood has just made: no other status flag to keep, so no
    // F_GETFL first (F_SETFL leaves the access mode as it is).
    if (::fcntl(pipe_.get(), F_SETFL, O_NONBLOCK) != 0)
        throw_errno(errno, "make " + std::string(stream_name(to_.stream)) + " pipe of " + to_.instance + " non-blocking");
}

output_relay::~output_relay() {
    if (to_.out) to_.out->forget(this);
}

void output_relay::wait(std::function<void()> resume) { to_.out->when_room(this, std::move(resume)); }

bool output_relay::drain() {
    char buffer[read_size];
    emptied_ = false;
    for (std::size_t taken = 0; taken < budget;) {
        std::size_t want = std::min(sizeof buffer, budget - taken);
        if (!line_ends_.empty()) {
            if (line_ends_.front() == read_total_) {
                line_ends_.pop_front();
                end_line();
                continue;
            }
            want = static_cast<std::size_t>(std::min<std::uint64_t>(want, line_ends_.front() - read_total_));
        }
        const ssize_t n = ::read(pipe_.get(), buffer, want);
        if (n > 0) {
            read_total_ += static_cast<std::uint64_t>(n);
            const std::string_view read(buffer, static_cast<std::size_t>(n));
            if (to_.stream == output_stream::tty)
                take_from_terminal(read);
            else
                take(read);
            taken += static_cast<std::size_t>(n);
            continue;
        }
        const int error = n < 0 ? errno : 0;
        if (error == EINTR) continue;
        if (error == EAGAIN) {
            emptied_ = true;
            return true;
        }
        // A terminal's master reads EIO once no process has its slave open: its end of file.
        if (error != 0 && !(error == EIO && to_.stream == output_stream::tty))
            throw_errno(error, "read " + std::string(stream_name(to_.stream)) + " of " + to_.instance);
        line_ends_.clear();
        end_line();
        return false;
    }
    return true;
}

void output_relay::end_line_after_unread() {
    int unread = 0;
    if (::ioctl(pipe_.get(), FIONREAD, &unread) != 0 || unread <= 0) {
        end_line();  // nothing unread (or unknown: the line is ended where the reading stands)
        return;
    }
    line_ends_.push_back(read_total_ + static_cast<std::uint64_t>(unread));
}

void output_relay::end_line() {
    if (held_return_) {
        held_return_ = false;
        take("\r");
    }
    if (inside_long_line_ || !pending_.empty()) {
        pending_ += '\n';
        pass_on(pending_);
        pending_.clear();
        inside_long_line_ = false;
    }
}

// The terminal ends lines with "\r\n" (its ONLCR): the log keeps "\n", as from a pipe. A '\r'
// that ends a read waits for the next one to say whether a '\n' follows it.
void output_relay::take_from_terminal(std::string_view bytes) {
    if (to_.mirror) to_.mirror(bytes);
    std::string lines;
    lines.reserve(bytes.size() + 1);
    if (held_return_ && bytes.front() != '\n') lines += '\r';
    held_return_ = false;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] != '\r') {
            lines += bytes[i];
        } else if (i + 1 == bytes.size()) {
            held_return_ = true;
        } else if (bytes[i + 1] != '\n') {
            lines += '\r';
        }
    }
    if (!lines.empty()) take(lines);
}

void output_relay::take(std::string_view bytes) {
    if (inside_long_line_) {
        const std::size_t end = std::min(bytes.find('\n'), bytes.size() - 1) + 1;
        pass_on(bytes.substr(0, end));
        inside_long_line_ = bytes[end - 1] != '\n';
        bytes.remove_prefix(end);
    }
    if (const std::size_t last_newline = bytes.rfind('\n'); last_newline != std::string_view::npos) {
        const std::string_view lines = bytes.substr(0, last_newline + 1);
        if (pending_.empty()) {
            pass_on(lines);
        } else {
            pending_.append(lines);
            pass_on(pending_);
            pending_.clear();
        }
        bytes.remove_prefix(last_newline + 1);
    }
    pending_.append(bytes);
    if (pending_.size() > max_line) {
        pass_on(pending_);
        pending_.clear();
        inside_long_line_ = true;
    }
}

// lines: whole lines, or the piece of a long line (the last piece of one ends with its newline).
void output_relay::pass_on(std::string_view lines) {
    const log_config& config = *to_.config;
    // A health check's lines are marked as its own (log_line.hpp), whatever the format.
    const bool as_read = config.format == log_format::plain && !config.timestamps && to_.stream != output_stream::health;
    if (to_.log && as_read && !to_.live) {  // the program's own bytes: nothing to cut into lines
        to_.log->write(lines, this);
        line_open_ = lines.back() != '\n';
        return;
    }
    const std::string time = as_read ? std::string() : to_.clock();
    const log_line_source source{to_.instance, to_.stream, time};
    const std::string_view read = lines;
    std::string logged;
    std::string shown;
    while (!lines.empty()) {
        const std::size_t line_end = std::min(lines.find('\n'), lines.size() - 1) + 1;
        std::string_view piece = lines.substr(0, line_end);
        const bool ends = piece.back() == '\n';
        if (ends) piece.remove_suffix(1);
        const bool starts = !line_open_;
        if (to_.log && !as_read) append_log_line(logged, config, source, piece, starts, ends);
        if (to_.live) add_live(shown, piece, starts, ends, source);
        line_open_ = !ends;
        lines.remove_prefix(line_end);
    }
    if (to_.log) to_.log->write(as_read ? read : std::string_view(logged), this);
    if (to_.live) to_.out->write(shown);
}

// A line of brood's own output for each piece: the log's line with log.to = "stdout", else the
// program's line as it wrote it.
void output_relay::add_live(std::string& shown, std::string_view piece, bool starts, bool ends,
                            const log_line_source& source) const {
    const bool json = to_.config->format == log_format::json;
    if (!(json && !to_.log)) shown += starts ? to_.live->text : to_.live->continued;
    if (to_.log) {
        shown += piece;
        shown += '\n';
        return;
    }
    append_log_line(shown, *to_.config, source, piece, starts, ends);
    if (!json && !ends) shown += '\n';
}

}  // namespace brood::supervisor
