#include "verbs/attach.hpp"

#include <cerrno>
#include <csignal>
#include <optional>
#include <string_view>

#include <fmt/core.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/unique_fd.hpp>

#include "common/exit_codes.hpp"
#include "control/client.hpp"

namespace brood::cli {
namespace {

// The user's terminal in raw mode while it lives; as it was again when it goes, however it goes.
class raw_mode {
public:
    explicit raw_mode(int fd) : fd_(fd) {
        if (::tcgetattr(fd_, &saved_) != 0) throw_errno(errno, "tcgetattr on standard input");
        termios raw = saved_;
        ::cfmakeraw(&raw);
        if (::tcsetattr(fd_, TCSADRAIN, &raw) != 0) throw_errno(errno, "tcsetattr on standard input");
    }
    ~raw_mode() { ::tcsetattr(fd_, TCSADRAIN, &saved_); }
    raw_mode(const raw_mode&) = delete;
    raw_mode& operator=(const raw_mode&) = delete;

private:
    int fd_;
    termios saved_{};
};

// The signals brood attach handles itself, read from a signalfd while it runs; blocked until then.
class signal_reader {
public:
    signal_reader() {
        sigemptyset(&set_);
        for (const int s : {SIGWINCH, SIGTERM, SIGHUP, SIGINT}) sigaddset(&set_, s);
        if (::sigprocmask(SIG_BLOCK, &set_, &old_) != 0) throw_errno(errno, "sigprocmask");
        fd_.reset(::signalfd(-1, &set_, SFD_CLOEXEC | SFD_NONBLOCK));
        if (!fd_) throw_errno(errno, "signalfd");
    }
    ~signal_reader() { ::sigprocmask(SIG_SETMASK, &old_, nullptr); }
    int fd() const { return fd_.get(); }
    std::optional<int> next() {
        signalfd_siginfo info{};
        if (::read(fd_.get(), &info, sizeof info) != static_cast<ssize_t>(sizeof info)) return std::nullopt;
        return static_cast<int>(info.ssi_signo);
    }

private:
    sigset_t set_{};
    sigset_t old_{};
    unique_fd fd_;
};

void write_all(int fd, std::string_view bytes, const char* what) {
    while (!bytes.empty()) {
        const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == ENOTSOCK) {
            const ssize_t w = ::write(fd, bytes.data(), bytes.size());
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) throw_errno(errno, what);
            bytes.remove_prefix(static_cast<std::size_t>(w));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) throw_errno(errno, what);
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

std::optional<winsize> window_of(int fd) {
    winsize w{};
    if (::ioctl(fd, TIOCGWINSZ, &w) != 0 || w.ws_row == 0 || w.ws_col == 0) return std::nullopt;
    return w;
}

// On a connection of its own: the attached one carries the terminal's bytes only.
void send_size(const std::filesystem::path& socket, const std::string& target, const winsize& w) {
    control::client supervisor(socket);
    control::request r;
    r.verb = "resize";
    r.targets = {target};
    r.rows = w.ws_row;
    r.cols = w.ws_col;
    supervisor.call(std::move(r));
}

enum class attach_end { detached, closed, signalled };

// Relays until Ctrl-], the supervisor closing the connection, or a signal that ends brood attach.
attach_end relay(int connection, std::string received, const std::filesystem::path& socket, const std::string& target,
             signal_reader& signals) {
    write_all(STDOUT_FILENO, received, "write to standard output");
    pollfd fds[3] = {{STDIN_FILENO, POLLIN, 0}, {connection, POLLIN, 0}, {signals.fd(), POLLIN, 0}};
    char buffer[16 * 1024];
    for (;;) {
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) continue;
            throw_errno(errno, "poll");
        }
        if (fds[2].revents & POLLIN) {
            while (const std::optional<int> s = signals.next()) {
                if (*s != SIGWINCH) return attach_end::signalled;
                if (const std::optional<winsize> w = window_of(STDIN_FILENO)) send_size(socket, target, *w);
            }
        }
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t n = ::recv(connection, buffer, sizeof buffer, 0);
            if (n < 0 && errno != EINTR && errno != EAGAIN) return attach_end::closed;  // ECONNRESET
            if (n == 0) return attach_end::closed;
            if (n > 0) write_all(STDOUT_FILENO, std::string_view(buffer, static_cast<std::size_t>(n)), "write to standard output");
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
            if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
            if (n <= 0) return attach_end::detached;  // the user's terminal is gone
            const std::string_view keys(buffer, static_cast<std::size_t>(n));
            const std::size_t detach = keys.find(detach_key);
            write_all(connection, keys.substr(0, detach), "send to the supervisor");
            if (detach != std::string_view::npos) return attach_end::detached;
        }
    }
}

}  // namespace

int attach_terminal(const std::filesystem::path& socket, const std::string& target) {
    if (::isatty(STDIN_FILENO) != 1) {
        fmt::print(stderr, "brood: attach needs a terminal as its standard input\n");
        return exit_usage;
    }
    signal_reader signals;
    control::client supervisor(socket);
    if (const std::optional<winsize> w = window_of(STDIN_FILENO)) send_size(socket, target, *w);
    const nlohmann::json result = supervisor.call("attach", {target});
    const std::string name = result.value("instance", target);
    control::client::raw_connection connection = supervisor.release();
    fmt::print(stderr, "[brood: attached to {}; Ctrl-] detaches, and it keeps running]\n", name);
    std::fflush(stderr);
    attach_end how;
    {
        raw_mode raw(STDIN_FILENO);
        how = relay(connection.socket.get(), std::move(connection.received), socket, target, signals);
    }
    if (how == attach_end::detached) fmt::print(stderr, "\n[brood: detached from {}; it keeps running]\n", name);
    return 0;
}

}  // namespace brood::cli
