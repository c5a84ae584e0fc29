/* cli_leave_behind ignore|default CODE: leaves a child behind and exits CODE. The child ignores
   SIGTERM (ignore) or keeps its default (default) and waits; this program exits only once the
   child is ready, so brood run finds it when the program ends. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 3) return 2;
    int ready[2];
    if (pipe(ready) != 0) return 2;
    const pid_t child = fork();
    if (child < 0) return 2;
    if (child == 0) {
        if (strcmp(argv[1], "ignore") == 0) signal(SIGTERM, SIG_IGN);
        close(ready[0]);
        close(ready[1]);
        for (;;) pause();
    }
    close(ready[1]);
    char byte;
    while (read(ready[0], &byte, 1) < 0 && errno == EINTR) {
    }
    return atoi(argv[2]);
}
