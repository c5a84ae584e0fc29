/* exec_check_floor: the least an exec health check can cost its supervisor, for
 * bench/health_checks.py:
 *
 *   exec_check_floor N PROGRAM [CGROUP_DIR]
 *
 * runs PROGRAM N times, one after the other, and prints two CPU times in ns: its own (RUSAGE_SELF:
 * the parent's side of each fork+exec+wait) and its children's (RUSAGE_CHILDREN: each check from its
 * clone to its exit, exec included). Without CGROUP_DIR: posix_spawn +
 * waitpid and nothing else. With it: clone3(CLONE_INTO_CGROUP) into that cgroup + execve + waitpid,
 * as a check that runs in its instance's cgroup must be started. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static long long cpu_ns(const struct rusage* usage) {
    return ((long long)usage->ru_utime.tv_sec + usage->ru_stime.tv_sec) * 1000000000LL +
           ((long long)usage->ru_utime.tv_usec + usage->ru_stime.tv_usec) * 1000LL;
}

static pid_t spawn_into(int cgroup, char* const child_argv[]) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_INTO_CGROUP;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup;
    const long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        execve(child_argv[0], child_argv, environ);
        _exit(127);
    }
    return (pid_t)pid;
}

int main(int argc, char** argv) {
    if (argc != 3 && argc != 4) {
        fputs("usage: exec_check_floor N PROGRAM [CGROUP_DIR]\n", stderr);
        return 2;
    }
    const long n = strtol(argv[1], NULL, 10);
    char* const child_argv[] = {argv[2], NULL};
    const int cgroup = argc == 4 ? open(argv[3], O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (argc == 4 && cgroup < 0) {
        perror(argv[3]);
        return 1;
    }
    for (long i = 0; i < n; ++i) {
        pid_t pid = -1;
        if (cgroup >= 0) {
            pid = spawn_into(cgroup, child_argv);
        } else if (posix_spawn(&pid, argv[2], NULL, NULL, child_argv, environ) != 0) {
            pid = -1;
        }
        if (pid < 0) {
            perror("spawn");
            return 1;
        }
        int status;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fputs("exec_check_floor: the check failed\n", stderr);
            return 1;
        }
    }
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    printf("%lld %lld\n", cpu_ns(&self), cpu_ns(&children));
    return 0;
}
