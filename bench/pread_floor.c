/* The floor of a status or a scrape (bench/http_cost.py): the files brood up reads for its
 * instances (/proc/PID/statm or stat, the cgroup's memory.current and cpu.stat), held open and
 * read with one pread each, and nothing else: no parsing, no JSON, no HTTP.
 *   pread_floor ROUNDS < paths       (one path a line; a path that cannot be opened is skipped)
 * Prints "files N wall_ms_median W cpu_ms_median C" for one round over every file. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double ms(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int ascending(const void* a, const void* b) {
    const double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

int main(int argc, char** argv) {
    const int rounds = argc == 2 ? atoi(argv[1]) : 0;
    if (rounds < 1) {
        fputs("usage: pread_floor ROUNDS < paths\n", stderr);
        return 2;
    }
    int* fds = NULL;
    size_t count = 0, room = 0;
    char line[4096];
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        const int fd = open(line, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        if (count == room) {
            room = room ? room * 2 : 1024;
            fds = realloc(fds, room * sizeof *fds);
            if (!fds) return 1;
        }
        fds[count++] = fd;
    }
    double* wall = calloc((size_t)rounds, sizeof *wall);
    double* cpu = calloc((size_t)rounds, sizeof *cpu);
    if (!wall || !cpu) return 1;
    char buffer[4096];
    for (int r = 0; r < rounds; ++r) {
        const double w0 = ms(CLOCK_MONOTONIC), c0 = ms(CLOCK_PROCESS_CPUTIME_ID);
        for (size_t i = 0; i < count; ++i)
            if (pread(fds[i], buffer, sizeof buffer, 0) < 0) perror("pread");
        wall[r] = ms(CLOCK_MONOTONIC) - w0;
        cpu[r] = ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
    }
    qsort(wall, (size_t)rounds, sizeof *wall, ascending);
    qsort(cpu, (size_t)rounds, sizeof *cpu, ascending);
    printf("files %zu wall_ms_median %.3f cpu_ms_median %.3f\n", count, wall[rounds / 2], cpu[rounds / 2]);
    return 0;
}
