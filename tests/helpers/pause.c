/* pause [TEXT]: writes TEXT and a newline to stdout if given, then waits until a signal ends it. */
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc > 1) {
        const size_t n = strlen(argv[1]);
        if (write(1, argv[1], n) != (ssize_t)n || write(1, "\n", 1) != 1) return 3;
    }
    for (;;) pause();
}
