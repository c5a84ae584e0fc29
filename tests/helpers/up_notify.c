/* up_notify MS: waits MS milliseconds, then sends "READY=1" to the unix datagram socket named by
 * $NOTIFY_SOCKET, as sd_notify does, prints "notified" and waits until a signal ends it. It stays
 * alive after sending, unlike notify_send: brood accepts the message only from a process it finds
 * in the instance's cgroup (or process group) when it reads it, and a sender that has already
 * exited is no longer there. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
    const char* path = getenv("NOTIFY_SOCKET");
    if (argc != 2 || path == NULL) return 2;
    const long ms = atol(argv[1]);
    const struct timespec delay = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&delay, NULL);
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, path, sizeof address.sun_path - 1);
    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, "READY=1", 7, 0, (struct sockaddr*)&address, sizeof address) != 7) {
        perror("up_notify");
        return 1;
    }
    close(fd);
    printf("notified\n");
    fflush(stdout);
    for (;;) pause();
}
