#include "common/descendants.hpp"

#include <cerrno>
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/proc.hpp>
#include <brood/unique_fd.hpp>

namespace brood::cli {

namespace {

struct stat_fields {
    char state;
    pid_t ppid;
};

// State and parent from the stat file of an open /proc/PID directory.
std::optional<stat_fields> read_stat(int dir) {
    const unique_fd file(::openat(dir, "stat", O_RDONLY | O_CLOEXEC));
    if (!file) return std::nullopt;
    char buffer[1024];
    ssize_t n;
    while ((n = ::read(file.get(), buffer, sizeof buffer)) < 0 && errno == EINTR) {
    }
    if (n <= 0) return std::nullopt;
    // "pid (comm) S ppid ...": comm may hold spaces and parentheses, so parse from the last ')'.
    const std::string_view line(buffer, static_cast<std::size_t>(n));
    const std::size_t close = line.rfind(')');
    if (close == std::string_view::npos || close + 4 >= line.size()) return std::nullopt;
    stat_fields fields{line[close + 2], 0};
    const char* first = line.data() + close + 4;
    if (std::from_chars(first, line.data() + line.size(), fields.ppid).ec != std::errc()) return std::nullopt;
    return fields;
}

unique_fd open_process(pid_t pid) {
    return unique_fd(::open(("/proc/" + std::to_string(pid)).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

bool send(int process_dir, int signal) {
    if (::syscall(SYS_pidfd_send_signal, process_dir, signal, nullptr, 0) == 0) return true;
    if (errno == ESRCH) return false;  // exited meanwhile
    throw_errno(errno, "pidfd_send_signal");
}

}  // namespace

pid_t proc_self_pid() {
    static const pid_t self = [] {
        char target[32];
        const ssize_t n = ::readlink("/proc/self", target, sizeof target - 1);
        pid_t pid = 0;
        if (n <= 0 || std::from_chars(target, target + n, pid).ec != std::errc())
            throw_errno(n < 0 ? errno : EINVAL, "readlink /proc/self");
        return pid;
    }();
    return self;
}

std::size_t signal_descendants(int signal) {
    // Without a usable /proc, an init can still reach everyone: kill(-1) signals every process of
    // its PID namespace but itself.
    if (::getpid() == 1 && ::access("/proc/self/task", R_OK) != 0) return ::kill(-1, signal) == 0 ? 1 : 0;
    std::size_t signalled = 0;
    std::vector<std::pair<pid_t, pid_t>> pending;  // {pid, the parent it was listed under}
    const pid_t self = proc_self_pid();
    for (pid_t child : proc::children_of(self)) pending.emplace_back(child, self);
    while (!pending.empty()) {
        const auto [pid, parent] = pending.back();
        pending.pop_back();
        const unique_fd dir = open_process(pid);
        if (!dir) continue;  // gone
        const std::optional<stat_fields> stat = read_stat(dir.get());
        if (!stat || stat->ppid != parent) continue;  // gone, or the pid now names someone else
        if (stat->state == 'Z' || stat->state == 'X') continue;
        if (send(dir.get(), signal)) {
            ++signalled;
            if (stat->state == 'T' && signal != SIGKILL) send(dir.get(), SIGCONT);
        }
        for (pid_t child : proc::children_of(pid)) pending.emplace_back(child, pid);
    }
    return signalled;
}

bool has_children() {
    // Asks without reaping (WNOWAIT) and without /proc: ECHILD is the only "none left".
    siginfo_t info{};
    for (;;) {
        if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT | __WALL) == 0) return true;
        if (errno == ECHILD) return false;
        if (errno != EINTR) throw_errno(errno, "waitid(P_ALL, WNOWAIT)");
    }
}

}  // namespace brood::cli
