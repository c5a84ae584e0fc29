/* pause [TEXT]: writes TEXT and a newline to stdout if given, then waits until a signal ends it.
 * The line goes out in one writev: a reader sharing the pipe (brood watch's own event lines) never
 * sees another line land between the text and its newline. */
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc > 1) {
        struct iovec line[2] = {{argv[1], strlen(argv[1])}, {"\n", 1}};
        if (writev(1, line, 2) != (ssize_t)(line[0].iov_len + 1)) return 3;
    }
    for (;;) pause();
}
