/* The program every supervisor runs in bench/supervisor_compare.py: it notes when it starts, then
 * sleeps until SIGUSR1, notes when it exits and exits 1 (a failure, so that every supervisor
 * restarts it). Notes are single appended lines "start|exit PID NS" (CLOCK_MONOTONIC ns, as the
 * driver reads it) in the file $BENCH_START_LOG: one write(2) each, whole even when hundreds of
 * programs append at once. Any other signal ends it as by default.
 *
 * It takes no arguments because s6 and runit run a service's ./run file as it is: that file is this
 * program (a symbolic link). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void note(int fd, const char* what) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    char line[80];
    int n = snprintf(line, sizeof line, "%s %ld %lld\n", what, (long)getpid(),
                     (long long)now.tv_sec * 1000000000LL + now.tv_nsec);
    if (write(fd, line, (size_t)n) != n) _exit(2);
}

int main(void) {
    const char* path = getenv("BENCH_START_LOG");
    if (!path) {
        fputs("supervised_program: BENCH_START_LOG is not set\n", stderr);
        return 2;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(path);
        return 2;
    }
    /* Blocked before the start is noted, so that a SIGUSR1 sent after that note is never lost. */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    note(fd, "start");
    int sig = 0;
    while (sigwait(&usr1, &sig) != 0) {
    }
    note(fd, "exit");
    return 1;
}
