/* control_client UID SOCKET LINE: becomes UID (unless it is -1), connects to the unix socket
 * SOCKET, sends LINE and a newline (nothing when LINE is empty), and prints the first line that
 * comes back.
 * Prints "connect: <errno>" and exits 1 when the connection is refused. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc != 4) return 2;
    const long uid = strtol(argv[1], NULL, 10);
    if (uid >= 0 && (setresgid((gid_t)uid, (gid_t)uid, (gid_t)uid) != 0 || setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0)) {
        printf("setresuid: %s\n", strerrorname_np(errno));
        return 3;
    }
    struct sockaddr_un address = {.sun_family = AF_UNIX};
    strncpy(address.sun_path, argv[2], sizeof address.sun_path - 1);
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr*)&address, sizeof address) != 0) {
        printf("connect: %s\n", strerrorname_np(errno));
        return 1;
    }
    if (argv[3][0] != '\0') dprintf(fd, "%s\n", argv[3]);
    char byte;
    while (read(fd, &byte, 1) == 1) {
        putchar(byte);
        if (byte == '\n') break;
    }
    close(fd);
    return 0;
}
