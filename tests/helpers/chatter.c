/* chatter OUT ERR: writes OUT bytes to stdout and ERR bytes to stderr, interleaved in 4 KiB blocks
 * (so a reader that drains only one stream deadlocks). Byte i of each stream is 'a' + i % 26. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

static int write_block(int fd, long long* done, long long total) {
    char block[4096];
    long long n = total - *done;
    if (n > (long long)sizeof block) n = sizeof block;
    for (long long i = 0; i < n; ++i) block[i] = (char)('a' + (*done + i) % 26);
    const char* p = block;
    while (n > 0) {
        const ssize_t w = write(fd, p, (size_t)n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        n -= w;
        *done += w;
    }
    return 0;
}

int main(int argc, char** argv) {
    if (argc != 3) return 2;
    const long long out_total = atoll(argv[1]), err_total = atoll(argv[2]);
    long long out_done = 0, err_done = 0;
    while (out_done < out_total || err_done < err_total) {
        if (out_done < out_total && write_block(1, &out_done, out_total) != 0) return 3;
        if (err_done < err_total && write_block(2, &err_done, err_total) != 0) return 4;
    }
    return 0;
}
