#include "fork/fork_worker.hpp"

#include <csignal>

#include <pthread.h>

#include <brood/fork.hpp>

namespace brood::detail {
namespace {

void start_with_default_signals() noexcept {
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    sigemptyset(&default_action.sa_mask);
    for (int sig = 1; sig < NSIG; ++sig) {
        struct sigaction old {};
        // Fails for the signals glibc keeps for itself (32, 33): they are left to it.
        if (::sigaction(sig, nullptr, &old) != 0) continue;
        const bool handled = (old.sa_flags & SA_SIGINFO) != 0 || (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN);
        if (handled) ::sigaction(sig, &default_action, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::pthread_sigmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace

std::optional<child> fork_worker(bool keep_signals) {
    if (keep_signals) return fork_here();
    sigset_t all, caller;
    sigfillset(&all);
    ::pthread_sigmask(SIG_SETMASK, &all, &caller);
    std::optional<child> kid;
    try {
        kid = fork_here();
    } catch (...) {
        ::pthread_sigmask(SIG_SETMASK, &caller, nullptr);
        throw;
    }
    if (!kid) {
        start_with_default_signals();
        return std::nullopt;
    }
    ::pthread_sigmask(SIG_SETMASK, &caller, nullptr);
    return kid;
}

}  // namespace brood::detail
