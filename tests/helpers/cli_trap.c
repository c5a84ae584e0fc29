/* cli_trap SIGNAL CODE [SIGNAL CODE...]: exits with CODE when SIGNAL (a number) arrives.
   Writes "ready\n" to stdout once every handler is installed, then waits. Tells whether a signal
   sent to brood run reached its program. The signals stay blocked except inside sigsuspend, so one
   sent after "ready" cannot slip in before the wait (under ThreadSanitizer, whose runtime defers a
   handler to its next intercepted call, a bare pause() loop could miss it). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int codes[65];

static void on_signal(int sig) { _exit(codes[sig]); }

int main(int argc, char** argv) {
    sigset_t trapped, others;
    sigemptyset(&trapped);
    for (int i = 1; i + 1 < argc; i += 2) {
        const int sig = atoi(argv[i]);
        if (sig <= 0 || sig > 64) return 2;
        sigaddset(&trapped, sig);
    }
    if (sigprocmask(SIG_BLOCK, &trapped, &others) != 0) return 2;
    for (int i = 1; i + 1 < argc; i += 2) {
        const int sig = atoi(argv[i]);
        if (sig <= 0 || sig > 64) return 2;
        codes[sig] = atoi(argv[i + 1]);
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_signal;
        sigemptyset(&action.sa_mask);
        if (sigaction(sig, &action, NULL) != 0) return 2;
    }
    if (write(1, "ready\n", 6) != 6) return 2;
    for (;;) sigsuspend(&others);
}
