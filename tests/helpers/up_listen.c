/* up_listen MS: waits MS milliseconds, then listens on 127.0.0.1:$PORT, prints "listening" and
 * waits until a signal ends it (connections wait in the backlog: a connect succeeds). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
    const char* port = getenv("PORT");
    if (argc != 2 || port == NULL) return 2;
    const long ms = atol(argv[1]);
    const struct timespec delay = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&delay, NULL);
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr*)&address, sizeof address) != 0 || listen(fd, 64) != 0) {
        perror("up_listen");
        return 1;
    }
    printf("listening\n");
    fflush(stdout);
    for (;;) pause();
}
