// A program that writes numbered lines of LEN bytes to stdout, as fast as it can or at RATE MB/s,
// for SECONDS, in 64 KiB writes; then prints the bytes it wrote to stderr. bench/log_throughput.py
// runs it under brood up, into a file and through cat.
//   line_writer RATE_MB_PER_S(0: unpaced) SECONDS LEN
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: line_writer RATE_MB_PER_S SECONDS LEN\n");
        return 2;
    }
    const double rate = atof(argv[1]) * 1e6;
    const double seconds = atof(argv[2]);
    const size_t len = (size_t)atol(argv[3]);
    static char buffer[64 * 1024];
    const size_t per_write = sizeof buffer / len * len;
    for (size_t at = 0; at < per_write; at += len) {
        memset(buffer + at, 'x', len - 1);
        buffer[at + len - 1] = '\n';
    }
    unsigned long long written = 0;
    unsigned long long line = 0;
    const double start = now();
    for (double t = start; t - start < seconds; t = now()) {
        if (rate > 0 && (double)written > rate * (t - start)) {
            usleep(500);
            continue;
        }
        for (size_t at = 0; at < per_write; at += len) {
            char number[24];
            snprintf(number, sizeof number, "%010llu ", line++ % 10000000000ULL);
            memcpy(buffer + at, number, 11);
        }
        const ssize_t n = write(STDOUT_FILENO, buffer, per_write);
        if (n <= 0) break;
        written += (unsigned long long)n;
    }
    fprintf(stderr, "%llu\n", written);
    return 0;
}
