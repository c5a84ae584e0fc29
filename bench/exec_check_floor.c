/* exec_check_floor: the least an exec health check can cost its supervisor, for
 * bench/health_checks.py:
 *
 *   exec_check_floor N PROGRAM [CGROUP_DIR...]
 *
 * runs PROGRAM N times, one after the other, and prints two CPU times in ns: its own (RUSAGE_SELF:
 * the parent's side of each fork+exec+wait) and its children's (RUSAGE_CHILDREN: each check from its
 * clone to its exit, exec included). Without CGROUP_DIR: posix_spawn +
 * waitpid and nothing else. With one: clone3(CLONE_INTO_CGROUP) into that cgroup + execve + waitpid,
 * as a check that runs in its instance's cgroup must be started. With several, the checks go into
 * them in turn, as the checks of several instances do. That clone shares the parent's
 * memory and suspends the parent until the child's exec (CLONE_VM | CLONE_VFORK, as posix_spawn's),
 * so that neither copies nor tears down an address space, and shares the parent's fd table until it
 * copies 0, 1 and 2 into one of its own (CLONE_FILES, then close_range with CLOSE_RANGE_UNSHARE), so
 * that the cgroups' fds are not copied: the child runs on a stack of its own,
 * through libbrood's clone3 trampoline (src/spawn/clone3_trampoline.S), since glibc 2.36 has no
 * clone3 wrapper and a child on a new stack cannot return through C. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
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

long brood_clone3(struct clone_args* args, size_t size, int (*fn)(void*), void* arg);

/* The child: a table of its own with 0, 1 and 2 only, then exec, or exit 127. */
static int run_check(void* child_argv) {
    char* const* argv = child_argv;
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_UNSHARE) != 0) return 127;
    execve(argv[0], argv, environ);
    return 127;
}

static pid_t spawn_into(int cgroup, char* const child_argv[]) {
    static char stack[64 * 1024] __attribute__((aligned(16)));
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_INTO_CGROUP | CLONE_VM | CLONE_VFORK | CLONE_FILES;
    args.exit_signal = SIGCHLD;
    args.cgroup = (uint64_t)cgroup;
    args.stack = (uint64_t)(uintptr_t)stack;
    args.stack_size = sizeof stack;
    const long pid = brood_clone3(&args, sizeof args, run_check, (void*)child_argv);
    if (pid < 0) errno = (int)-pid;
    return pid < 0 ? -1 : (pid_t)pid;
}

int main(int argc, char** argv) {
    if (argc < 3) {
        fputs("usage: exec_check_floor N PROGRAM [CGROUP_DIR...]\n", stderr);
        return 2;
    }
    const long n = strtol(argv[1], NULL, 10);
    char* const child_argv[] = {argv[2], NULL};
    const int cgroups = argc - 3;
    int* const cgroup = calloc(cgroups > 0 ? (size_t)cgroups : 1, sizeof(int));
    for (int c = 0; c < cgroups; ++c)
        if ((cgroup[c] = open(argv[3 + c], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
            perror(argv[3 + c]);
            return 1;
        }
    for (long i = 0; i < n; ++i) {
        pid_t pid = -1;
        if (cgroups > 0) {
            pid = spawn_into(cgroup[i % cgroups], child_argv);
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
