/* The restart floor of bench/supervisor_compare.py and bench/failure_restart.py: the least a
 * supervisor can do. It starts N copies of PROGRAM and, whenever one ends, starts another at once:
 * waitpid(-1) and posix_spawn, nothing else (no state, no logs, no isolation, no start limit). Its
 * restart latency is what the machine charges any supervisor for a restart: the exit, the wake-up,
 * the spawn and exec, and the new program's own start-up until it notes its start.
 *
 *   restart_floor N PROGRAM
 *   restart_floor --stop N PROGRAM
 *   restart_floor --watchdog USEC N PROGRAM
 *   restart_floor --check USEC N PROGRAM
 *
 * The other modes are failures the supervisor must end itself, each found as a supervisor finds it:
 *   --stop      a failure the program announces: each program gets the write end of one pipe
 *               ($BENCH_FAIL_FD) and writes its pid there when it fails; the floor reads it, sends
 *               SIGTERM, waits for that program's end and starts another. That adds the stop (the
 *               signal, the program's exit, its reaping) to the restart.
 *   --watchdog  a missed watchdog, as systemd and brood up find it: the programs get
 *               $NOTIFY_SOCKET and $WATCHDOG_USEC; each WATCHDOG=1 (its sender known by
 *               SO_PASSCRED) moves that program's deadline to USEC after its reading. A timerfd, which
 *               has no slack, wakes the floor at the earliest deadline; a program past its own gets
 *               SIGABRT (systemd's and brood's default), is waited for and replaced.
 *   --check     a failed health check: every USEC, each program's check (PROGRAM check, in the
 *               program's environment) is run and waited for; one that fails gets its program
 *               SIGTERM, waited for and replaced. Program i has BROOD_INSTANCE=i and
 *               BENCH_PROGRAM=floor, as bench/health_program.c needs.
 *
 * Ended by SIGTERM (the default action); its programs are left to its parent to end. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static int64_t now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static void fail(const char* what) {
    perror(what);
    exit(1);
}

static pid_t start_with(char* const argv[], char* const envp[]) {
    pid_t pid;
    const int rc = posix_spawn(&pid, argv[0], NULL, NULL, argv, envp);
    if (rc != 0) {
        fprintf(stderr, "restart_floor: posix_spawn %s: error %d\n", argv[0], rc);
        exit(1);
    }
    return pid;
}

static pid_t start(char* program) {
    char* argv[] = {program, NULL};
    return start_with(argv, environ);
}

static void stop(pid_t pid, int signal) {
    if (kill(pid, signal) != 0 || waitpid(pid, NULL, 0) != pid) fail("restart_floor: stop");
}

static void plain(int n, char* program) {
    for (int i = 0; i < n; ++i) start(program);
    for (;;) {
        if (waitpid(-1, NULL, 0) == -1) exit(1);  /* no handler is installed: no EINTR */
        start(program);
    }
}

static void announced(int n, char* program) {
    int failures[2];
    char fd[16];
    if (pipe2(failures, 0) != 0 || fcntl(failures[0], F_SETFD, FD_CLOEXEC) != 0) fail("restart_floor: pipe");
    snprintf(fd, sizeof fd, "%d", failures[1]);
    setenv("BENCH_FAIL_FD", fd, 1);
    for (int i = 0; i < n; ++i) start(program);
    for (;;) {
        pid_t failed;  /* a pid is one write, shorter than PIPE_BUF: whole */
        if (read(failures[0], &failed, sizeof failed) != sizeof failed) exit(1);
        stop(failed, SIGTERM);
        start(program);
    }
}

/* The sender of one WATCHDOG=1, or 0 for anything else. */
static pid_t read_ping(int sock) {
    char data[64];
    union {
        char bytes[CMSG_SPACE(sizeof(struct ucred))];
        struct cmsghdr align;
    } control;
    struct iovec part = {data, sizeof data};
    struct msghdr msg = {.msg_iov = &part, .msg_iovlen = 1, .msg_control = control.bytes,
                         .msg_controllen = sizeof control.bytes};
    const ssize_t size = recvmsg(sock, &msg, MSG_DONTWAIT);
    if (size < 0) return -1;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (size != 10 || memcmp(data, "WATCHDOG=1", 10) != 0 || c == NULL || c->cmsg_type != SCM_CREDENTIALS) return 0;
    struct ucred sender;
    memcpy(&sender, CMSG_DATA(c), sizeof sender);
    return sender.pid;
}

static void watchdog(int64_t usec, int n, char* program) {
    const int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    char name[64];
    snprintf(name, sizeof name, "@restart-floor-%ld", (long)getpid());
    memcpy(address.sun_path, name, strlen(name));
    address.sun_path[0] = '\0';
    if (sock < 0 || setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0 ||
        bind(sock, (struct sockaddr*)&address, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name))) != 0)
        fail("restart_floor: notify socket");
    char period[32];
    snprintf(period, sizeof period, "%lld", (long long)usec);
    setenv("NOTIFY_SOCKET", name, 1);
    setenv("WATCHDOG_USEC", period, 1);
    const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    if (timer < 0) fail("restart_floor: timerfd");

    pid_t* pids = calloc((size_t)n, sizeof *pids);
    int64_t* deadlines = calloc((size_t)n, sizeof *deadlines);
    for (int i = 0; i < n; ++i) {
        pids[i] = start(program);
        deadlines[i] = now_ns() + usec * 1000;
    }
    for (;;) {
        int64_t earliest = deadlines[0];
        for (int i = 1; i < n; ++i)
            if (deadlines[i] < earliest) earliest = deadlines[i];
        const struct itimerspec at = {.it_value = {earliest / 1000000000LL, earliest % 1000000000LL}};
        if (timerfd_settime(timer, TFD_TIMER_ABSTIME, &at, NULL) != 0) fail("restart_floor: timerfd_settime");
        struct pollfd ready[2] = {{sock, POLLIN, 0}, {timer, POLLIN, 0}};
        if (poll(ready, 2, -1) < 0) fail("restart_floor: poll");
        if (ready[0].revents != 0) {
            for (pid_t sender; (sender = read_ping(sock)) >= 0;) {
                const int64_t now = now_ns();
                for (int i = 0; i < n; ++i)
                    if (pids[i] == sender) deadlines[i] = now + usec * 1000;
            }
        }
        if (ready[1].revents != 0) {
            uint64_t expirations;
            if (read(timer, &expirations, sizeof expirations) != sizeof expirations) fail("restart_floor: timerfd");
            for (int i = 0; i < n; ++i) {
                if (deadlines[i] > now_ns()) continue;
                stop(pids[i], SIGABRT);
                pids[i] = start(program);
                deadlines[i] = now_ns() + usec * 1000;
            }
        }
    }
}

static void checked(int64_t usec, int n, char* program) {
    setenv("BENCH_PROGRAM", "floor", 1);
    /* Each program's environment: the floor's, and its own BROOD_INSTANCE first. */
    size_t count = 0;
    while (environ[count] != NULL) ++count;
    char*** envs = calloc((size_t)n, sizeof *envs);
    pid_t* pids = calloc((size_t)n, sizeof *pids);
    char* program_argv[] = {program, NULL};
    char* check_argv[] = {program, "check", NULL};
    for (int i = 0; i < n; ++i) {
        envs[i] = calloc(count + 2, sizeof(char*));
        if (asprintf(&envs[i][0], "BROOD_INSTANCE=%d", i) < 0) fail("restart_floor: asprintf");
        for (size_t e = 0, kept = 1; e < count; ++e)
            if (strncmp(environ[e], "BROOD_INSTANCE=", 15) != 0) envs[i][kept++] = environ[e];
        pids[i] = start_with(program_argv, envs[i]);
    }
    const int timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    const struct itimerspec every = {.it_interval = {usec / 1000000, usec % 1000000 * 1000},
                                     .it_value = {usec / 1000000, usec % 1000000 * 1000}};
    if (timer < 0 || timerfd_settime(timer, 0, &every, NULL) != 0) fail("restart_floor: timerfd");
    for (;;) {
        uint64_t expirations;
        if (read(timer, &expirations, sizeof expirations) != sizeof expirations) fail("restart_floor: timerfd");
        for (int i = 0; i < n; ++i) {
            const pid_t check = start_with(check_argv, envs[i]);
            int status;
            if (waitpid(check, &status, 0) != check) fail("restart_floor: waitpid");
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0) continue;
            stop(pids[i], SIGTERM);
            pids[i] = start_with(program_argv, envs[i]);
        }
    }
}

int main(int argc, char** argv) {
    const char* mode = argc > 1 && strncmp(argv[1], "--", 2) == 0 ? argv[1] : "";
    const int timed = strcmp(mode, "--watchdog") == 0 || strcmp(mode, "--check") == 0;
    const int first = 1 + (*mode != '\0') + timed;
    const int n = argc == first + 2 ? atoi(argv[first]) : 0;
    const int64_t usec = timed && argc > 2 ? atoll(argv[2]) : 0;
    if (n < 1 || (timed && usec < 1000) ||
        (*mode != '\0' && !timed && strcmp(mode, "--stop") != 0)) {
        fputs("usage: restart_floor [--stop | --watchdog USEC | --check USEC] N PROGRAM\n", stderr);
        return 2;
    }
    char* program = argv[first + 1];
    if (strcmp(mode, "--stop") == 0) announced(n, program);
    if (strcmp(mode, "--watchdog") == 0) watchdog(usec, n, program);
    if (strcmp(mode, "--check") == 0) checked(usec, n, program);
    plain(n, program);
}
