/* cli_zombie_storm N: a storm of orphaned zombies for an init to reap. A spawner process forks N
   children that exit at once and then exits without reaping them: all N zombies go to the init
   (or subreaper) above this program together. This program holds a pidfd for each of them and
   waits for POLLHUP, which the kernel signals when a process has been reaped, and prints:
       zombies=N spawn_ms=... reap_ms=... left=K
   spawn_ms: forking the N; reap_ms: from the spawner's exit until the init had reaped them all
   (or 10 s); left: zombies still unreaped at the end (0 when the init did its job). Exit 0 when
   left is 0. Waiting is event driven, so the measurement takes nothing from the init it measures.
   When N pidfds do not fit under RLIMIT_NOFILE it falls back to reading the init's children in
   /proc every 0.2 ms. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const double limit_ms = 10000;

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int read_all(int fd, void* data, size_t size) {
    size_t got = 0;
    while (got < size) {
        const ssize_t n = read(fd, (char*)data + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        got += (size_t)n;
    }
    return 0;
}

/* Children of the parent, all threads, without this process. */
static long parents_other_children(void) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)getppid());
    DIR* tasks = opendir(path);
    if (tasks == NULL) return -1;
    long count = 0;
    const struct dirent* entry;
    while ((entry = readdir(tasks)) != NULL) {
        if (entry->d_name[0] == '.') continue;
        char file[384];
        snprintf(file, sizeof file, "%s/%s/children", path, entry->d_name);
        FILE* children = fopen(file, "r");
        if (children == NULL) continue;
        int pid;
        while (fscanf(children, "%d", &pid) == 1)
            if (pid != getpid()) ++count;
        fclose(children);
    }
    closedir(tasks);
    return count;
}

/* Registers a pidfd per zombie; -1 when they do not fit (fds are closed again). */
static int watch_all(const pid_t* pids, long n) {
    struct rlimit files;
    getrlimit(RLIMIT_NOFILE, &files);
    if (files.rlim_max < (rlim_t)n + 64) return -1;
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
    const int epoll = epoll_create1(EPOLL_CLOEXEC);
    if (epoll < 0) return -1;
    for (long i = 0; i < n; ++i) {
        const int fd = (int)syscall(SYS_pidfd_open, pids[i], 0);
        struct epoll_event e = {.events = 0, .data.fd = fd}; /* only EPOLLHUP: reaped */
        if (fd < 0 || epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &e) != 0) return -1;
    }
    return epoll;
}

int main(int argc, char** argv) {
    const long n = argc > 1 ? atol(argv[1]) : 10000;
    pid_t* pids = calloc((size_t)n, sizeof *pids);
    int report[2], go[2];
    if (pids == NULL || pipe(report) != 0 || pipe(go) != 0) return 2;
    const double start = now_ms();
    const pid_t spawner = fork();
    if (spawner < 0) return 2;
    if (spawner == 0) {
        close(report[0]);
        close(go[1]);
        for (long i = 0; i < n; ++i) {
            const pid_t kid = fork();
            if (kid == 0) _exit(0);
            if (kid < 0 || write(report[1], &kid, sizeof kid) != sizeof kid) _exit(3);
        }
        const double spawned = now_ms();
        if (write(report[1], &spawned, sizeof spawned) != sizeof spawned) _exit(2);
        char byte;
        while (read(go[0], &byte, 1) < 0 && errno == EINTR) {
        }
        _exit(0); /* the N zombies go to the init now */
    }
    close(report[1]);
    close(go[0]);
    double spawned = 0;
    if (read_all(report[0], pids, (size_t)n * sizeof *pids) != 0 || read_all(report[0], &spawned, sizeof spawned) != 0)
        return 2;
    const int epoll = watch_all(pids, n);

    const double orphaned = now_ms();
    close(go[1]);
    int status;
    if (waitpid(spawner, &status, 0) != spawner || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 2;
    long left = n;
    if (epoll >= 0) {
        struct epoll_event ready[1024];
        while (left > 0 && now_ms() - orphaned < limit_ms) {
            const int k = epoll_wait(epoll, ready, 1024, (int)(limit_ms - (now_ms() - orphaned)) + 1);
            for (int i = 0; i < k; ++i) {
                close(ready[i].data.fd);
                --left;
            }
        }
    } else {
        /* Polling, the fallback: nothing else tells a process that its parent reaped someone. */
        while ((left = parents_other_children()) > 0 && now_ms() - orphaned < limit_ms) {
            const struct timespec pause = {0, 200000};
            nanosleep(&pause, NULL);
        }
    }
    printf("zombies=%ld spawn_ms=%.1f reap_ms=%.1f left=%ld\n", n, spawned - start, now_ms() - orphaned, left);
    free(pids); /* or LeakSanitizer ends the program before stdout is flushed */
    return left == 0 ? 0 : 1;
}
