/* cat_stdin: copies stdin to stdout, then writes the number of bytes copied to stderr. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    char buf[65536];
    long long total = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return 2;
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            const ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR) continue;
            if (w < 0) return 3;
            off += w;
        }
        total += n;
    }
    fprintf(stderr, "%lld\n", total);
    return 0;
}
