/* trap_term: prints "ready" once its SIGTERM handler is in place, waits; on SIGTERM prints "term"
 * and exits 0. SIGTERM stays blocked except inside sigsuspend: one sent after "ready" cannot slip in
 * between the test of got_term and the wait. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t got_term = 0;

static void on_term(int sig) {
    (void)sig;
    got_term = 1;
}

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigemptyset(&sa.sa_mask);
    sigset_t term, others;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &term, &others) != 0) return 2;
    if (sigaction(SIGTERM, &sa, NULL) != 0) return 2;
    if (write(1, "ready\n", 6) != 6) return 3;
    while (!got_term) sigsuspend(&others);
    if (write(1, "term\n", 5) != 5) return 4;
    return 0;
}
