// The brood command driven from outside, as tests do: its path, and a running brood whose stdout
// and stderr are read line by line, each wait bounded by a generous deadline.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

#include <brood/child.hpp>
#include <brood/command.hpp>
#include <brood/status.hpp>
#include <brood/unique_fd.hpp>

namespace brood::testing {

// Generous: the suite also runs under sanitizers on loaded machines. Nothing waits this long
// unless something is wrong.
inline constexpr std::chrono::seconds deadline{20};

// The brood command built with the tests.
std::string brood_path();

// Reads a pipe line by line, waiting at most until a deadline for each line.
class line_reader {
public:
    explicit line_reader(unique_fd fd) : fd_(std::move(fd)) {}

    std::optional<std::string> next(std::chrono::milliseconds timeout);
    // The first line containing text; every line read on the way is kept in seen().
    std::optional<std::string> until(std::string_view text, std::chrono::milliseconds timeout = deadline);
    // As until, but a line read already counts too: output of two processes (brood's events and
    // the program's own) may come in either order.
    std::optional<std::string> seen_or_until(std::string_view text, std::chrono::milliseconds timeout = deadline);
    // Everything up to end of file.
    std::vector<std::string> rest(std::chrono::milliseconds timeout = deadline);

    const std::vector<std::string>& seen() const { return seen_; }

private:
    unique_fd fd_;
    std::string buffer_;
    bool eof_ = false;
    std::vector<std::string> seen_;
};

// A brood (or unshare running brood) with its stdout and stderr read line by line.
class running_brood {
public:
    // configure: what else the command that starts it needs (a resource limit, ...).
    explicit running_brood(const std::vector<std::string>& argv, const std::function<void(command&)>& configure = {});

    pid_t pid() const { return child_.pid(); }
    line_reader& out() { return out_; }
    line_reader& err() { return err_; }
    bool signal(int sig) { return child_.send_signal(sig); }

    // Waits for the end, within the deadline; a brood that hangs is killed and the test fails.
    wait_status wait();

private:
    child child_;
    line_reader out_;
    line_reader err_;
};

}  // namespace brood::testing
