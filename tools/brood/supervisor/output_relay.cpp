#include "supervisor/output_relay.hpp"

#include <algorithm>
#include <cerrno>

#include <fcntl.h>

#include <brood/error.hpp>

#include "supervisor/write_fully.hpp"

namespace brood::supervisor {

namespace {

constexpr std::size_t read_size = 64 * 1024;

}  // namespace

output_relay::output_relay(unique_fd pipe_read_end, log_file& log, std::optional<live_prefix> live, int live_fd)
    : pipe_(std::move(pipe_read_end)), log_(&log), live_(std::move(live)), live_fd_(live_fd) {
    const int flags = ::fcntl(pipe_.get(), F_GETFL);
    if (flags < 0 || ::fcntl(pipe_.get(), F_SETFL, flags | O_NONBLOCK) != 0)
        throw_errno(errno, "make output pipe of \"" + log.path().string() + "\" non-blocking");
}

bool output_relay::drain() {
    char buffer[read_size];
    for (std::size_t taken = 0; taken < budget;) {
        const ssize_t n = ::read(pipe_.get(), buffer, std::min(sizeof buffer, budget - taken));
        if (n > 0) {
            take(std::string_view(buffer, static_cast<std::size_t>(n)));
            taken += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return true;
        if (n < 0) throw_errno(errno, "read output for \"" + log_->path().string() + "\"");
        if (inside_long_line_) {
            log_->write("\n", this);
            inside_long_line_ = false;
        } else if (!pending_.empty()) {
            pending_ += '\n';
            pass_on(pending_);
            pending_.clear();
        }
        return false;
    }
    return true;
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

// lines: whole lines, or the piece of a long line, which the live output shows as a line.
void output_relay::pass_on(std::string_view lines) {
    log_->write(lines, this);
    if (!live_) return;
    std::string shown;
    shown.reserve(lines.size() + 16 * live_->text.size());
    while (!lines.empty()) {
        const std::size_t line_end = std::min(lines.find('\n'), lines.size() - 1) + 1;
        shown += live_->text;
        shown.append(lines.substr(0, line_end));
        if (shown.back() != '\n') shown += '\n';
        lines.remove_prefix(line_end);
    }
    // The whole batch at once, fewer system calls; SIGPIPE must be ignored if live_fd can be a pipe.
    (void)write_fully(live_fd_, shown);
}

}  // namespace brood::supervisor
