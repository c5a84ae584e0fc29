/* spawn_floor: the cheapest correct-enough way to run a program and wait for it on Linux, and the
 * other raw C baselines brood's spawn benchmarks compare against.
 *
 *   floor_spawn_wait     clone3(CLONE_VM|CLONE_VFORK|CLONE_PIDFD) on a stack mapped once and reused,
 *                        raw execve in the child, waitid(P_PIDFD) in the parent. This is "the floor".
 *   raw_posix_spawn_wait glibc posix_spawn (it maps and unmaps a fresh child stack on every call).
 *   raw_fork_exec_wait   fork + execve + waitpid: copies the parent's page tables.
 *   raw_vfork_exec_wait  vfork + execve + waitpid: shares the parent's stack with the child.
 *   naive_close_exec_wait vfork, then close() every fd from 3 up to the soft RLIMIT_NOFILE, then execve:
 *                        what a spawner without close_range pays (bench/fd_limit.cpp).
 *
 * The floor deliberately leaves out what a library must do and the others do: it blocks no signals
 * around the clone (a signal handler could run in the child on the shared memory), resets no
 * handlers, closes no fds and reports an exec failure only as exit code 127. It exists to show what
 * the kernel's clone+exec+exit+wait costs on this machine; a library close to it wastes nothing.
 *
 * Built into the C++ drivers as an object, and alone (-DSPAWN_FLOOR_MAIN) as the program
 * spawn_floor: `spawn_floor [-n spawns] [-r rounds] program [args...]` prints µs per spawn+wait.
 * Not thread-safe: one reused child stack. x86-64 only (the clone3 trampoline is inline asm).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if !defined(__x86_64__)
#error "spawn_floor.c: the clone3 trampoline is written for x86-64"
#endif

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

/* The kernel's struct clone_args (version 0, 64 bytes), spelled here so that <linux/sched.h> and
 * glibc's <sched.h> need not meet. */
struct floor_clone_args {
    uint64_t flags;
    uint64_t pidfd;
    uint64_t child_tid;
    uint64_t parent_tid;
    uint64_t exit_signal;
    uint64_t stack;
    uint64_t stack_size;
    uint64_t tls;
};

/* A raw system call with three arguments; never touches errno (the child shares the parent's TLS). */
static inline long floor_syscall3(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"(nr), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

struct floor_exec {
    const char *path;
    char *const *argv;
    char *const *envp;
};

/* Runs in the child, on the floor's own stack, sharing the parent's memory; the parent is suspended
 * until the execve succeeds or the child exits. Raw system calls only. */
static int floor_child(void *arg)
{
    const struct floor_exec *e = arg;
    floor_syscall3(SYS_execve, (long)e->path, (long)e->argv, (long)e->envp);
    return 127;
}

/* clone3, and in the child call fn(arg) on the new stack and exit with its result. Returns the
 * child's pid (or -errno) in the parent. With CLONE_VFORK it returns once the child has exec'd or
 * exited. */
static long floor_clone3(struct floor_clone_args *args, int (*fn)(void *), void *arg)
{
    long ret;
    register int (*r_fn)(void *) __asm__("r12") = fn;
    register void *r_arg __asm__("r13") = arg;
    __asm__ volatile("syscall\n\t"
                     "test %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     /* Child: rsp is the top of args->stack (16-byte aligned), registers are the
                      * parent's. Terminate the frame chain, call fn, exit_group with its result. */
                     "xor %%ebp, %%ebp\n\t"
                     "mov %%r13, %%rdi\n\t"
                     "call *%%r12\n\t"
                     "mov %%eax, %%edi\n\t"
                     "mov $231, %%eax\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "0"((long)SYS_clone3), "D"(args), "S"(sizeof *args), "r"(r_fn), "r"(r_arg)
                     : "rcx", "r11", "memory", "cc");
    return ret;
}

enum { floor_stack_size = 64 * 1024 };
static char *floor_stack;

static int status_of(const siginfo_t *info)
{
    if (info->si_code == CLD_EXITED) return info->si_status;
    return 128 + info->si_status;
}

/* Spawns path and waits for it. Returns its exit code (128+signal if killed), or -1 with errno. */
int floor_spawn_wait(const char *path, char *const argv[], char *const envp[])
{
    if (floor_stack == NULL) {
        void *p = mmap(NULL, floor_stack_size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
        if (p == MAP_FAILED) return -1;
        floor_stack = p;
    }
    struct floor_exec e = {path, argv, envp};
    int pidfd = -1;
    struct floor_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = CLONE_VM | CLONE_VFORK | CLONE_PIDFD;
    args.pidfd = (uint64_t)(uintptr_t)&pidfd;
    args.exit_signal = SIGCHLD;
    args.stack = (uint64_t)(uintptr_t)floor_stack;
    args.stack_size = floor_stack_size;
    long pid = floor_clone3(&args, floor_child, &e);
    if (pid < 0) {
        errno = (int)-pid;
        return -1;
    }
    siginfo_t info;
    int r;
    do {
        memset(&info, 0, sizeof info);
        r = waitid((idtype_t)P_PIDFD, (id_t)pidfd, &info, WEXITED);
    } while (r < 0 && errno == EINTR);
    close(pidfd);
    return r < 0 ? -1 : status_of(&info);
}

static int wait_pid(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

int raw_posix_spawn_wait(const char *path, char *const argv[], char *const envp[])
{
    pid_t pid;
    int err = posix_spawn(&pid, path, NULL, NULL, argv, envp);
    if (err != 0) {
        errno = err;
        return -1;
    }
    return wait_pid(pid);
}

int raw_fork_exec_wait(const char *path, char *const argv[], char *const envp[])
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execve(path, argv, envp);
        _exit(127);
    }
    return wait_pid(pid);
}

int raw_vfork_exec_wait(const char *path, char *const argv[], char *const envp[])
{
    pid_t pid = vfork();
    if (pid < 0) return -1;
    if (pid == 0) {
        execve(path, argv, envp);
        _exit(127);
    }
    return wait_pid(pid);
}

int naive_close_exec_wait(const char *path, char *const argv[], char *const envp[])
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return -1;
    int maxfd = lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > 0x7fffffff ? 0x7fffffff : (int)lim.rlim_cur;
    pid_t pid = vfork();
    if (pid < 0) return -1;
    if (pid == 0) {
        for (int fd = 3; fd < maxfd; ++fd) close(fd);
        execve(path, argv, envp);
        _exit(127);
    }
    return wait_pid(pid);
}

#ifdef SPAWN_FLOOR_MAIN
extern char **environ;

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    long spawns = 1000, rounds = 9;
    int opt;
    while ((opt = getopt(argc, argv, "+n:r:")) != -1) {
        if (opt == 'n') spawns = strtol(optarg, NULL, 10);
        else if (opt == 'r') rounds = strtol(optarg, NULL, 10);
        else {
            fprintf(stderr, "usage: spawn_floor [-n spawns] [-r rounds] program [args...]\n");
            return 2;
        }
    }
    if (optind >= argc || spawns < 1 || spawns > 1000000 || rounds < 1 || rounds > 1000) {
        fprintf(stderr, "usage: spawn_floor [-n spawns 1..1e6] [-r rounds 1..1000] program [args...]\n");
        return 2;
    }
    char **child_argv = argv + optind;
    int rc = floor_spawn_wait(child_argv[0], child_argv, environ);
    if (rc != 0) {
        fprintf(stderr, "spawn_floor: %s: exit %d (%s)\n", child_argv[0], rc, rc < 0 ? strerror(errno) : "");
        return 1;
    }
    double *per_round = calloc((size_t)rounds, sizeof *per_round);
    if (per_round == NULL) return 1;
    for (long r = 0; r < rounds; ++r) {
        double t0 = now_us();
        for (long i = 0; i < spawns; ++i) {
            if (floor_spawn_wait(child_argv[0], child_argv, environ) != 0) {
                fprintf(stderr, "spawn_floor: spawn failed\n");
                return 1;
            }
        }
        per_round[r] = (now_us() - t0) / (double)spawns;
    }
    qsort(per_round, (size_t)rounds, sizeof *per_round, compare_double);
    printf("floor clone3(CLONE_VM|CLONE_VFORK|CLONE_PIDFD)+execve+waitid %s: median %.2f us/spawn "
           "(min %.2f, max %.2f; %ld rounds x %ld)\n",
           child_argv[0], per_round[rounds / 2], per_round[0], per_round[rounds - 1], rounds, spawns);
    free(per_round);
    return 0;
}
#endif
