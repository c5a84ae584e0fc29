/* exec_check_floor: the least an exec health check can cost its supervisor, for
 * bench/health_checks.py: `exec_check_floor N PROGRAM` runs PROGRAM N times, one after the other,
 * with posix_spawn + waitpid and nothing else, then prints its own CPU time in ns (RUSAGE_SELF: the
 * parent's side of each fork+exec+wait, not the checks' own run). */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>

extern char** environ;

int main(int argc, char** argv) {
    if (argc != 3) {
        fputs("usage: exec_check_floor N PROGRAM\n", stderr);
        return 2;
    }
    const long n = strtol(argv[1], NULL, 10);
    char* const child_argv[] = {argv[2], NULL};
    for (long i = 0; i < n; ++i) {
        pid_t pid;
        if (posix_spawn(&pid, argv[2], NULL, NULL, child_argv, environ) != 0) {
            perror("posix_spawn");
            return 1;
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fputs("exec_check_floor: the check failed\n", stderr);
            return 1;
        }
    }
    struct rusage self;
    getrusage(RUSAGE_SELF, &self);
    printf("%lld\n", ((long long)self.ru_utime.tv_sec + self.ru_stime.tv_sec) * 1000000000LL +
                         ((long long)self.ru_utime.tv_usec + self.ru_stime.tv_usec) * 1000LL);
    return 0;
}
