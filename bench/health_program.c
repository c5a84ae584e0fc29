/* The program of bench/failure_restart.py's failed-check case, and its health check.
 *
 *   health_program          the program: notes its start, then waits. At SIGUSR1 it writes its pid
 *                           to $BENCH_START_LOG.fail.$BENCH_PROGRAM.$BROOD_INSTANCE, which makes its
 *                           check fail, and waits on; SIGTERM (brood's stop) ends it.
 *   health_program check    the check (health.exec), in the instance's environment: exits 0 while
 *                           that file is missing. Once it is there, notes "hang PID NS" (PID the
 *                           program's, NS the time it fails, just before exiting 1) and exits 1.
 *
 * A new run of the instance removes the file at its start, so its own checks pass. Notes are
 * appended lines as bench/supervised_program.c's, in $BENCH_START_LOG, CLOCK_MONOTONIC ns.
 *
 * Under `restart_floor --stop` ($BENCH_FAIL_FD set, no check): at SIGUSR1 the program notes
 * "hang PID NS" and writes its pid to that fd at once, and waits for its SIGTERM. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static void note(const char* log, const char* what, long pid, long long ns) {
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    char line[80];
    int n = snprintf(line, sizeof line, "%s %ld %lld\n", what, pid, ns);
    if (fd < 0 || write(fd, line, (size_t)n) != n) _exit(2);
    close(fd);
}

/* Blocked before the start is noted, so that a SIGUSR1 sent after that note is never lost. */
static void note_start_and_wait(const char* log) {
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    note(log, "start", (long)getpid(), now_ns());
    int received;
    sigwait(&usr1, &received);
}

int main(int argc, char** argv) {
    const char* log = getenv("BENCH_START_LOG");
    const char* fail_fd = getenv("BENCH_FAIL_FD");
    if (log && fail_fd) {
        note_start_and_wait(log);
        const pid_t self = getpid();
        note(log, "hang", (long)self, now_ns());
        if (write(atoi(fail_fd), &self, sizeof self) != sizeof self) return 2;
        for (;;) pause();
    }
    const char* program = getenv("BENCH_PROGRAM");  /* BROOD_INSTANCE is only the index */
    const char* instance = getenv("BROOD_INSTANCE");
    char marker[4096];
    if (!log || !program || !instance ||
        snprintf(marker, sizeof marker, "%s.fail.%s.%s", log, program, instance) >= (int)sizeof marker) {
        fputs("health_program: needs BENCH_START_LOG, BENCH_PROGRAM and BROOD_INSTANCE\n", stderr);
        return 2;
    }

    if (argc > 1 && strcmp(argv[1], "check") == 0) {
        FILE* f = fopen(marker, "r");
        if (f == NULL) return 0;
        long pid = 0;
        const int read = fscanf(f, "%ld", &pid);
        fclose(f);
        if (read != 1) return 0;  /* being written: the next check sees it */
        note(log, "hang", pid, now_ns());
        return 1;
    }

    unlink(marker);
    note_start_and_wait(log);
    /* Written whole under another name, then renamed: a check never reads half of it. */
    char partial[4200];
    snprintf(partial, sizeof partial, "%s.new", marker);
    FILE* f = fopen(partial, "w");
    if (f == NULL || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f) != 0 || rename(partial, marker) != 0) {
        perror("health_program");
        return 2;
    }
    for (;;) pause();
}
