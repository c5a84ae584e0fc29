/* Makes an orphan and checks that someone reaps it. It double-forks: the middle process exits at
   once, so the grandchild is adopted by the nearest subreaper (brood run) or init. The grandchild
   writes its pid to stdout, then exits when told to (stdin of this program reaching end of file, or
   at once without "wait-stdin"). This program holds a pidfd for the grandchild and waits for
   POLLHUP, which the kernel signals once the grandchild has been reaped: exit 0 when reaped
   within 10 s, 1 when it was left a zombie. */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
    const int wait_stdin = argc > 1 && strcmp(argv[1], "wait-stdin") == 0;
    int go[2], report[2];
    if (pipe(go) != 0 || pipe(report) != 0) return 2;
    const pid_t middle = fork();
    if (middle < 0) return 2;
    if (middle == 0) {
        const pid_t grandchild = fork();
        if (grandchild < 0) _exit(2);
        if (grandchild == 0) {
            close(go[1]);
            char byte;
            while (read(go[0], &byte, 1) < 0 && errno == EINTR) {
            }
            if (wait_stdin)
                while (read(0, &byte, 1) > 0) {
                }
            _exit(0);
        }
        const pid_t pid = grandchild;
        if (write(report[1], &pid, sizeof pid) != sizeof pid) _exit(2);
        _exit(0);
    }
    close(report[1]);
    close(go[0]);
    pid_t grandchild = 0;
    if (read(report[0], &grandchild, sizeof grandchild) != sizeof grandchild) return 2;
    int status;
    if (waitpid(middle, &status, 0) != middle) return 2;
    const int pidfd = (int)syscall(SYS_pidfd_open, grandchild, 0);
    if (pidfd < 0) return 2;
    printf("%d\n", (int)grandchild);
    fflush(stdout);
    close(go[1]); /* the grandchild may exit now */
    struct pollfd p = {pidfd, 0, 0};
    int n;
    while ((n = poll(&p, 1, 10000)) < 0 && errno == EINTR) {
    }
    return n == 1 && (p.revents & POLLHUP) ? 0 : 1;
}
