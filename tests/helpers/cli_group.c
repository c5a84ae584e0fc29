/* A program whose own child must get SIGTERM too (brood run -g). It forks a grandchild that exits
   42 on SIGTERM, writes "ready\n" to stdout once both have their handlers, then waits for the
   grandchild and exits with its code: 42 only if the signal reached the grandchild as well. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void exit_42(int sig) {
    (void)sig;
    _exit(42);
}
static void note(int sig) { (void)sig; }

static void handle(int sig, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    sigaction(sig, &action, NULL);
}

int main(void) {
    handle(SIGTERM, note);  /* the program itself survives SIGTERM and waits */
    int ready[2];
    if (pipe(ready) != 0) return 2;
    const pid_t grandchild = fork();
    if (grandchild < 0) return 2;
    if (grandchild == 0) {
        /* SIGTERM blocked except inside sigsuspend: one sent after "ready" cannot be missed. */
        sigset_t term, others;
        sigemptyset(&term);
        sigaddset(&term, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &term, &others) != 0) _exit(2);
        handle(SIGTERM, exit_42);
        close(ready[0]);
        close(ready[1]); /* end of file: the handler is in place */
        for (;;) sigsuspend(&others);
    }
    close(ready[1]);
    char byte;
    while (read(ready[0], &byte, 1) < 0 && errno == EINTR) {
    }
    close(ready[0]);
    if (write(1, "ready\n", 6) != 6) return 2;
    int status = 0;
    while (waitpid(grandchild, &status, 0) < 0)
        if (errno != EINTR) return 2;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
