/* The restart floor of bench/supervisor_compare.py and bench/failure_restart.py: the least a
 * supervisor can do. It starts N copies of PROGRAM and, whenever one ends, starts another at once:
 * waitpid(-1) and posix_spawn, nothing else (no state, no logs, no isolation, no start limit). Its
 * restart latency is what the machine charges any supervisor for a restart: the exit, the wake-up,
 * the spawn and exec, and the new program's own start-up until it notes its start.
 *
 *   restart_floor N PROGRAM
 *   restart_floor --stop N PROGRAM
 *
 * With --stop, a failure is one the supervisor must end itself, as a missed watchdog or a failed
 * health check: each program gets the write end of one pipe ($BENCH_FAIL_FD) and writes its pid
 * there when it fails; the floor reads it, sends SIGTERM, waits for that program's end and starts
 * another. That adds the stop (the signal, the program's exit, its reaping) to the restart.
 *
 * Ended by SIGTERM (the default action); its programs are left to its parent to end. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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
    const int stop = argc > 1 && strcmp(argv[1], "--stop") == 0;
    const int n = argc == 3 + stop ? atoi(argv[1 + stop]) : 0;
    char* program = argv[2 + stop];
    if (n < 1) {
        fputs("usage: restart_floor [--stop] N PROGRAM\n", stderr);
        return 2;
    }
    int failures[2] = {-1, -1};
    if (stop) {
        char fd[16];
        if (pipe2(failures, 0) != 0 || fcntl(failures[0], F_SETFD, FD_CLOEXEC) != 0) {
            perror("restart_floor: pipe");
            return 1;
        }
        snprintf(fd, sizeof fd, "%d", failures[1]);
        setenv("BENCH_FAIL_FD", fd, 1);
    }
    for (int i = 0; i < n; ++i) start(program);
    for (;;) {
        if (stop) {
            pid_t failed;  /* a pid is one write, shorter than PIPE_BUF: whole */
            if (read(failures[0], &failed, sizeof failed) != sizeof failed) return 1;
            if (kill(failed, SIGTERM) != 0 || waitpid(failed, NULL, 0) != failed) return 1;
        } else if (waitpid(-1, NULL, 0) == -1) {
            return 1;  /* no handler is installed: no EINTR */
        }
        start(program);
    }
}
