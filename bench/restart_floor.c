/* The restart floor of bench/supervisor_compare.py: the least a supervisor can do. It starts N
 * copies of PROGRAM and, whenever one ends, starts another at once: waitpid(-1) and posix_spawn,
 * nothing else (no state, no logs, no isolation, no start limit). Its restart latency is what the
 * machine charges any supervisor for a restart: the exit, the wake-up, the spawn and exec, and the
 * new program's own start-up until it notes its start.
 *   restart_floor N PROGRAM
 * Ended by SIGTERM (the default action); its programs are left to its parent to end. */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

extern char** environ;

static void start(char* program) {
    char* argv[] = {program, NULL};
    pid_t pid;
    const int rc = posix_spawn(&pid, program, NULL, NULL, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "restart_floor: posix_spawn %s: error %d\n", program, rc);
        exit(1);
    }
}

int main(int argc, char** argv) {
    const int n = argc == 3 ? atoi(argv[1]) : 0;
    if (n < 1) {
        fputs("usage: restart_floor N PROGRAM\n", stderr);
        return 2;
    }
    for (int i = 0; i < n; ++i) start(argv[2]);
    for (;;) {
        if (waitpid(-1, NULL, 0) == -1) return 1;  /* no handler is installed: no EINTR */
        start(argv[2]);
    }
}
