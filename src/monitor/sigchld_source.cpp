#include "monitor/sigchld_source.hpp"

#include <atomic>
#include <cerrno>
#include <stdexcept>

#include <pthread.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <brood/error.hpp>

namespace brood::detail {
namespace {

std::atomic<bool> sigchld_claimed{false};

sigset_t sigchld_set() noexcept {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    return set;
}

}  // namespace

void check_sigchld_disposition(bool need_stops) {
    struct sigaction current {};
    if (::sigaction(SIGCHLD, nullptr, &current) == -1) throw_errno(errno, "sigaction(SIGCHLD) query");
    if (current.sa_handler == SIG_IGN || (current.sa_flags & SA_NOCLDWAIT) != 0)
        throw std::logic_error(
            "brood::monitor: SIGCHLD is ignored (SIG_IGN or SA_NOCLDWAIT), so the kernel reaps children "
            "itself and their statuses are lost; restore SIG_DFL first");
    if (need_stops && (current.sa_flags & SA_NOCLDSTOP) != 0)
        throw std::logic_error(
            "brood::monitor: SIGCHLD's handler has SA_NOCLDSTOP, so stops and continues raise no SIGCHLD; "
            "report_stops needs it cleared");
}

sigchld_source::sigchld_source() : thread_(std::this_thread::get_id()) {
    if (sigchld_claimed.exchange(true))
        throw std::logic_error(
            "brood::monitor: another monitor of this process already reads SIGCHLD (report_stops or "
            "init_of_tree); only one may, any number may report exits only");
    try {
        const sigset_t set = sigchld_set();
        sigset_t old;
        if (const int error = ::pthread_sigmask(SIG_BLOCK, &set, &old); error != 0)
            throw_errno(error, "pthread_sigmask(SIG_BLOCK, SIGCHLD)");
        restore_mask_ = sigismember(&old, SIGCHLD) == 0;
        fd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
        if (!fd_) throw_errno(errno, "signalfd(SIGCHLD)");
    } catch (...) {
        if (restore_mask_) {
            const sigset_t set = sigchld_set();
            ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
        }
        sigchld_claimed = false;
        throw;
    }
}

sigchld_source::~sigchld_source() {
    fd_.reset();
    if (restore_mask_ && std::this_thread::get_id() == thread_) {
        const sigset_t set = sigchld_set();
        ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    }
    sigchld_claimed = false;
}

std::size_t sigchld_source::drain(std::span<note> notes) noexcept {
    std::size_t count = 0;
    signalfd_siginfo infos[4];
    for (;;) {
        const ssize_t n = ::read(fd_.get(), infos, sizeof infos);
        if (n == -1 && errno == EINTR) continue;
        if (n <= 0) return count;
        for (std::size_t i = 0; i < static_cast<std::size_t>(n) / sizeof infos[0]; ++i, ++count)
            if (count < notes.size()) notes[count] = {static_cast<pid_t>(infos[i].ssi_pid), infos[i].ssi_code};
        // A standard signal is pending at most once (per thread and per process), so one read
        // nearly always empties it.
        if (static_cast<std::size_t>(n) < sizeof infos) return count;
    }
}

}  // namespace brood::detail
