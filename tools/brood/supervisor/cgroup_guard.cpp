#include "supervisor/cgroup_guard.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <brood/error.hpp>
#include <brood/fork.hpp>
#include <brood/unique_fd.hpp>

#include "common/startup_pages.hpp"
#include "supervisor/isolation.hpp"

namespace brood::supervisor {

namespace {

void say(const std::string& line) { std::fprintf(stderr, "brood-guard: %s\n", line.c_str()); }

// Named brood-guard in ps, and for pidof and pgrep: forked, it would also show brood's name and
// command line, and `kill -HUP $(pidof brood)`, meant to reload brood, would end the guard. The
// command line is the memory the kernel placed argv in, which starts at argv[0] (glibc's
// program_invocation_name) and is as long as /proc/self/cmdline; the guard's copy of it is its own.
void rename() {
    ::prctl(PR_SET_NAME, "brood-guard");
    const unique_fd cmdline(::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC));
    if (!cmdline) return;
    std::size_t length = 0;
    char chunk[4096];
    for (ssize_t n; (n = ::read(cmdline.get(), chunk, sizeof chunk)) != 0;) {
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return;
        length += static_cast<std::size_t>(n);
    }
    if (length == 0) return;
    // As much of the name as fits: "brood up" from PATH leaves 9 bytes, "brood-gu" and its NUL.
    std::memset(program_invocation_name, 0, length);
    std::string_view("brood-guard").copy(program_invocation_name, length - 1);
}

// What the guard inherits from brood and must not keep: its name, its signal mask (brood blocks the
// signals it reads from a signalfd), its process group and session, its fds.
void stand_apart() {
    rename();
    ::setsid();
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_IGN);  // a reader of stderr gone must not keep it from cleaning up
    const unique_fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (null) {
        ::dup2(null.get(), STDIN_FILENO);
        ::dup2(null.get(), STDOUT_FILENO);
    }
    ::close_range(STDERR_FILENO + 1, ~0U, 0);
    cli::drop_startup_pages();
}

// Returns once brood has ended; false when that cannot be known (no pidfd).
bool wait_for_end_of(pid_t brood) {
    const unique_fd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, brood, 0)));
    if (!pidfd) {
        say("cannot watch brood up (pid " + std::to_string(brood) + "): pidfd_open: " + errno_name(errno));
        return false;
    }
    // Opened after the fork: should brood have died in between, its pid may name another process
    // now. Then this process was given another parent already, and there is nothing to wait for.
    if (::getppid() != brood) return true;
    pollfd ended{pidfd.get(), POLLIN, 0};
    while (::poll(&ended, 1, -1) < 0)
        if (errno != EINTR) return false;
    return true;
}

int guard(pid_t brood, const std::filesystem::path& group) {
    stand_apart();
    if (!wait_for_end_of(brood)) return 1;
    try {
        if (remove_group(group))
            say("brood up (pid " + std::to_string(brood) + ") has ended without removing " + group.string() +
                ": removed it and ended what was left in it");
        return 0;
    } catch (const std::system_error& failure) {
        say(std::string("could not remove what brood up left: ") + failure.what());
        return 1;
    }
}

}  // namespace

child start_cgroup_guard(const std::filesystem::path& group) {
    const pid_t brood = ::getpid();
    child process = brood::fork([brood, group] { return guard(brood, group); });
    process.set_drop_policy(drop_policy::detach());
    return process;
}

}  // namespace brood::supervisor
