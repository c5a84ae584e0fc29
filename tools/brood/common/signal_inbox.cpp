#include "common/signal_inbox.hpp"

#include <cerrno>

#include <sys/signalfd.h>
#include <unistd.h>

#include <brood/error.hpp>

namespace brood::cli {

sigset_t forwarded_signals() {
    // glibc's full set leaves out its own two real-time signals below SIGRTMIN (thread cancel, setxid).
    sigset_t set;
    ::sigfillset(&set);
    for (int sig : {SIGKILL, SIGSTOP, SIGCHLD, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS}) ::sigdelset(&set, sig);
    return set;
}

signal_inbox::signal_inbox() : signal_inbox(forwarded_signals()) {}

signal_inbox::signal_inbox(const sigset_t& set) {
    if (const int error = ::pthread_sigmask(SIG_BLOCK, &set, &previous_mask_); error != 0)
        throw_errno(error, "pthread_sigmask");
    fd_.reset(::signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!fd_) {
        const int error = errno;
        ::pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
        throw_errno(error, "signalfd");
    }
}

signal_inbox::~signal_inbox() {
    fd_.reset();
    ::pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

std::optional<received_signal> signal_inbox::next() {
    signalfd_siginfo info{};
    for (;;) {
        const ssize_t n = ::read(fd_.get(), &info, sizeof info);
        if (n == static_cast<ssize_t>(sizeof info))
            return received_signal{static_cast<int>(info.ssi_signo), info.ssi_code, static_cast<pid_t>(info.ssi_pid)};
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return std::nullopt;
        throw_errno(n < 0 ? errno : EIO, "read signalfd");
    }
}

bool should_forward(const received_signal& signal) noexcept {
    if (signal.code == SI_KERNEL) return false;
    return !(signal.sender == ::getpid() && signal.code == SI_USER);
}

}  // namespace brood::cli
