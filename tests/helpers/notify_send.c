/* notify_send: sends its arguments, joined by newlines, as one datagram to $NOTIFY_SOCKET, as
 * sd_notify(3) does. Exits 0 when sent, 1 when not (printing why on stderr). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char** argv) {
    const char* path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    if (path == NULL || strlen(path) >= sizeof address.sun_path) {
        fprintf(stderr, "notify_send: no usable NOTIFY_SOCKET\n");
        return 1;
    }
    strcpy(address.sun_path, path);

    char message[4096];
    size_t length = 0;
    for (int i = 1; i < argc; ++i) {
        const size_t part = strlen(argv[i]);
        if (length + part + 1 > sizeof message) {
            fprintf(stderr, "notify_send: message too long\n");
            return 1;
        }
        if (i > 1) message[length++] = '\n';
        memcpy(message + length, argv[i], part);
        length += part;
    }

    const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, message, length, 0, (const struct sockaddr*)&address, sizeof address) < 0) {
        fprintf(stderr, "notify_send: %s\n", strerror(errno));
        return 1;
    }
    close(fd);
    return 0;
}
