#include "monitor/signal_source.hpp"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <brood/error.hpp>

namespace brood::detail {
namespace {

std::atomic<bool> sigchld_claimed{false};

sigset_t only(int signal) noexcept {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, signal);
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

signal_source::signal_source(bool read_sigchld) : reads_sigchld_(read_sigchld), thread_(std::this_thread::get_id()) {
    sigemptyset(&reading_);
    sigemptyset(&blocked_here_);
    if (!read_sigchld) return;
    if (sigchld_claimed.exchange(true))
        throw std::logic_error(
            "brood::monitor: another monitor of this process already reads SIGCHLD (report_stops or "
            "init_of_tree); only one may, any number may report exits only");
    try {
        add(only(SIGCHLD));
    } catch (...) {
        sigchld_claimed = false;
        throw;
    }
}

signal_source::~signal_source() {
    fd_.reset();
    if (std::this_thread::get_id() == thread_) ::pthread_sigmask(SIG_UNBLOCK, &blocked_here_, nullptr);
    if (reads_sigchld_) sigchld_claimed = false;
}

namespace {

// The kernel's signal mask is 64 bits, signal n at bit n - 1, and glibc and musl keep it in the first
// 8 bytes of a sigset_t: set arithmetic in a few instructions, where a loop of sigismember calls
// took thousands at every start of brood run.
std::uint64_t bits(const sigset_t& set) noexcept {
    std::uint64_t out;
    std::memcpy(&out, &set, sizeof out);
    return out;
}

sigset_t as_set(std::uint64_t mask) noexcept {
    sigset_t set;
    sigemptyset(&set);
    std::memcpy(&set, &mask, sizeof mask);
    return set;
}

constexpr std::uint64_t bit(int signal) noexcept { return std::uint64_t{1} << (signal - 1); }

}  // namespace

sigset_t signal_source::block(const sigset_t& set) {
    sigset_t old;
    if (const int error = ::pthread_sigmask(SIG_BLOCK, &set, &old); error != 0) throw_errno(error, "pthread_sigmask(SIG_BLOCK)");
    return as_set(bits(set) & ~bits(old));
}

void signal_source::add(const sigset_t& set) {
    const std::uint64_t never = bit(SIGKILL) | bit(SIGSTOP) | (reads_sigchld_ ? 0 : bit(SIGCHLD));
    const sigset_t wanted = as_set((bits(reading_) | bits(set)) & ~never);
    const sigset_t newly = block(wanted);
    // A signalfd given its own fd takes the new mask: one fd for every signal read.
    const int fd = ::signalfd(fd_ ? fd_.get() : -1, &wanted, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd == -1) {
        const int error = errno;
        ::pthread_sigmask(SIG_UNBLOCK, &newly, nullptr);
        throw_errno(error, "signalfd");
    }
    if (!fd_) fd_.reset(fd);
    reading_ = wanted;
    blocked_here_ = as_set(bits(blocked_here_) | bits(newly));
}

std::size_t signal_source::drain(std::span<note> notes, std::vector<monitor::signal_info>& others) {
    std::size_t count = 0;
    signalfd_siginfo infos[4];
    for (;;) {
        const ssize_t n = ::read(fd_.get(), infos, sizeof infos);
        if (n == -1 && errno == EINTR) continue;
        if (n <= 0) return count;
        for (std::size_t i = 0; i < static_cast<std::size_t>(n) / sizeof infos[0]; ++i) {
            const signalfd_siginfo& info = infos[i];
            if (static_cast<int>(info.ssi_signo) != SIGCHLD) {
                others.push_back({static_cast<int>(info.ssi_signo), info.ssi_code, static_cast<pid_t>(info.ssi_pid)});
                continue;
            }
            if (count < notes.size()) notes[count] = {static_cast<pid_t>(info.ssi_pid), info.ssi_code};
            ++count;
        }
        // A standard signal is pending at most once (per thread and per process), so one read
        // nearly always empties it.
        if (static_cast<std::size_t>(n) < sizeof infos) return count;
    }
}

}  // namespace brood::detail
