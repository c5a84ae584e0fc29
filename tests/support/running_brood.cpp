#include "support/running_brood.hpp"

#include <cerrno>

#include <poll.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace brood::testing {

namespace {

using clock_type = std::chrono::steady_clock;

child start(const std::vector<std::string>& argv, const std::function<void(command&)>& configure) {
    command c(argv.front());
    c.args(std::vector<std::string>(argv.begin() + 1, argv.end()))
        .set_stdin(stdio::null())
        .set_stdout(stdio::pipe())
        .set_stderr(stdio::pipe());
    if (configure) configure(c);
    return c.spawn();
}

}  // namespace

std::string brood_path() { return std::string(BROOD_TOOLS_DIR) + "/brood"; }

std::optional<std::string> line_reader::next(std::chrono::milliseconds timeout) {
    const auto until = clock_type::now() + timeout;
    for (;;) {
        if (const std::size_t end = buffer_.find('\n'); end != std::string::npos) {
            std::string line = buffer_.substr(0, end);
            buffer_.erase(0, end + 1);
            return line;
        }
        if (eof_) return std::nullopt;
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now());
        if (left.count() <= 0) return std::nullopt;
        pollfd p{fd_.get(), POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
        char chunk[4096];
        const ssize_t n = ::read(fd_.get(), chunk, sizeof chunk);
        if (n <= 0) {
            eof_ = n == 0 || errno != EINTR;
            continue;
        }
        buffer_.append(chunk, static_cast<std::size_t>(n));
    }
}

std::optional<std::string> line_reader::until(std::string_view text, std::chrono::milliseconds timeout) {
    const auto until = clock_type::now() + timeout;
    while (clock_type::now() < until) {
        auto line = next(std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now()));
        if (!line) return std::nullopt;
        seen_.push_back(*line);
        if (line->find(text) != std::string::npos) return line;
    }
    return std::nullopt;
}

std::optional<std::string> line_reader::seen_or_until(std::string_view text, std::chrono::milliseconds timeout) {
    for (const std::string& line : seen_)
        if (line.find(text) != std::string::npos) return line;
    return until(text, timeout);
}

std::vector<std::string> line_reader::rest(std::chrono::milliseconds timeout) {
    while (auto line = next(timeout)) seen_.push_back(*line);
    return seen_;
}

running_brood::running_brood(const std::vector<std::string>& argv, const std::function<void(command&)>& configure)
    : child_(start(argv, configure)),
      out_(std::move(child_.stdout_pipe())),
      err_(std::move(child_.stderr_pipe())) {}

wait_status running_brood::wait() {
    if (auto status = child_.wait_for(deadline)) return *status;
    ADD_FAILURE() << "brood did not exit within " << deadline.count() << " s";
    return child_.terminate(std::chrono::milliseconds(0));
}

}  // namespace brood::testing
