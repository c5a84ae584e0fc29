/* cli_zombie_storm N: a storm of orphaned zombies for an init to reap. A spawner process forks N
   children that exit at once and exits without reaping them: all N zombies go to the init (or
   subreaper) above this program together. Then this program watches its parent's children in
   /proc until only itself is left, and prints one line:
       zombies=N spawn_ms=... reap_ms=... left=K
   spawn_ms: forking the N; reap_ms: from the spawner's exit until the init had reaped them all
   (or 10 s); left: zombies still there at the end (0 when the init did its job). Exit 0 when
   left is 0. */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
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

int main(int argc, char** argv) {
    const long n = argc > 1 ? atol(argv[1]) : 10000;
    int done[2];
    if (pipe(done) != 0) return 2;
    const double start = now_ms();
    const pid_t spawner = fork();
    if (spawner < 0) return 2;
    if (spawner == 0) {
        for (long i = 0; i < n; ++i) {
            const pid_t kid = fork();
            if (kid == 0) _exit(0);
            if (kid < 0) _exit(3);
        }
        const double spawned = now_ms();
        if (write(done[1], &spawned, sizeof spawned) != sizeof spawned) _exit(2);
        _exit(0);
    }
    double spawned = 0;
    if (read(done[0], &spawned, sizeof spawned) != sizeof spawned) return 2;
    int status;
    if (waitpid(spawner, &status, 0) != spawner || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 2;
    const double orphaned = now_ms();
    long left;
    /* Polling, in a benchmark only: nothing tells a process that its parent reaped someone else. */
    while ((left = parents_other_children()) > 0 && now_ms() - orphaned < 10000) {
        const struct timespec pause = {0, 200000};
        nanosleep(&pause, NULL);
    }
    printf("zombies=%ld spawn_ms=%.1f reap_ms=%.1f left=%ld\n", n, spawned - start, now_ms() - orphaned, left);
    return left == 0 ? 0 : 1;
}
