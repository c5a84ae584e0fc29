#include <brood/monitor.hpp>

#include <pthread.h>
#include <signal.h>

#include <brood/error.hpp>

namespace brood {

void block_sigchld() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    if (const int error = ::pthread_sigmask(SIG_BLOCK, &set, nullptr); error != 0)
        throw_errno(error, "pthread_sigmask(SIG_BLOCK, SIGCHLD)");
}

}  // namespace brood
