#include "supervisor/output_relay.hpp"

#include <cerrno>

#include <fcntl.h>

#include <brood/error.hpp>

#include "supervisor/write_fully.hpp"

namespace brood::supervisor {

namespace {

constexpr std::size_t read_size = 64 * 1024;
// Reads per drain(): 1 MiB, then the loop serves the other fds before coming back.
constexpr int reads_per_drain = 16;

}  // namespace

output_relay::output_relay(unique_fd pipe_read_end, log_file& log, std::optional<live_prefix> live, int live_fd)
    : pipe_(std::move(pipe_read_end)), log_(&log), live_(std::move(live)), live_fd_(live_fd) {
    const int flags = ::fcntl(pipe_.get(), F_GETFL);
    if (flags < 0 || ::fcntl(pipe_.get(), F_SETFL, flags | O_NONBLOCK) != 0)
        throw_errno(errno, "make output pipe of \"" + log.path().string() + "\" non-blocking");
}

bool output_relay::drain() {
    char buffer[read_size];
    for (int round = 0; round < reads_per_drain; ++round) {
        const ssize_t n = ::read(pipe_.get(), buffer, sizeof buffer);
        if (n > 0) {
            take(std::string_view(buffer, static_cast<std::size_t>(n)));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return true;
        if (n < 0) throw_errno(errno, "read output for \"" + log_->path().string() + "\"");
        if (!pending_.empty()) {
            pending_ += '\n';
            pass_on(pending_);
            pending_.clear();
        }
        return false;
    }
    return true;
}

void output_relay::take(std::string_view bytes) {
    pending_.append(bytes);
    std::string lines;
    std::size_t start = 0;
    for (;;) {
        const std::size_t newline = pending_.find('\n', start);
        const std::size_t end = newline == std::string::npos ? pending_.size() : newline;
        if (end - start > max_line) {
            lines.append(pending_, start, max_line);
            lines += '\n';
            start += max_line;
        } else if (newline != std::string::npos) {
            lines.append(pending_, start, newline + 1 - start);
            start = newline + 1;
        } else {
            break;
        }
    }
    pending_.erase(0, start);
    if (!lines.empty()) pass_on(lines);
}

void output_relay::pass_on(std::string_view lines) {
    log_->write(lines);
    if (!live_) return;
    std::string shown;
    shown.reserve(lines.size() + 16 * live_->text.size());
    while (!lines.empty()) {
        const std::size_t line_end = lines.find('\n') + 1;  // every line ends in '\n'
        shown += live_->text;
        shown.append(lines.substr(0, line_end));
        lines.remove_prefix(line_end);
    }
    // The whole batch at once, fewer system calls; SIGPIPE must be ignored if live_fd can be a pipe.
    (void)write_fully(live_fd_, shown);
}

}  // namespace brood::supervisor
