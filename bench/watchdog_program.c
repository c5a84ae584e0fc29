/* The program of bench/failure_restart.py's watchdog case. It notes its start, then sends
 * WATCHDOG=1 to $NOTIFY_SOCKET every quarter of $WATCHDOG_USEC, as sd_notify would, until SIGUSR1.
 * Then it hangs: it notes "hang PID NS", NS being the time of its last WATCHDOG=1 (the supervisor's
 * watchdog runs out WATCHDOG_USEC after it), sends nothing more and waits to be ended. Notes are
 * appended lines as bench/supervised_program.c's, in $BENCH_START_LOG, CLOCK_MONOTONIC ns. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000000LL + now.tv_nsec;
}

static void note(int fd, const char* what, long long ns) {
    char line[80];
    int n = snprintf(line, sizeof line, "%s %ld %lld\n", what, (long)getpid(), ns);
    if (write(fd, line, (size_t)n) != n) _exit(2);
}

int main(void) {
    const char* log = getenv("BENCH_START_LOG");
    const char* socket_path = getenv("NOTIFY_SOCKET");
    const char* usec_text = getenv("WATCHDOG_USEC");
    const long long usec = usec_text ? atoll(usec_text) : 0;
    if (!log || !socket_path || usec <= 0 || strlen(socket_path) >= sizeof(((struct sockaddr_un*)0)->sun_path)) {
        fputs("watchdog_program: needs BENCH_START_LOG, NOTIFY_SOCKET and WATCHDOG_USEC\n", stderr);
        return 2;
    }
    int fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    int sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sock < 0) {
        perror("watchdog_program");
        return 2;
    }
    struct sockaddr_un to = {.sun_family = AF_UNIX};
    strcpy(to.sun_path, socket_path);
    if (to.sun_path[0] == '@') to.sun_path[0] = '\0';  /* an abstract address, as sd_notify takes it */
    const socklen_t to_size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(socket_path));

    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, NULL);
    note(fd, "start", now_ns());
    const long long quarter_ns = usec * 1000 / 4;
    const struct timespec quarter = {quarter_ns / 1000000000LL, quarter_ns % 1000000000LL};
    long long last_ping = 0;
    for (;;) {
        last_ping = now_ns();
        if (sendto(sock, "WATCHDOG=1", 10, 0, (struct sockaddr*)&to, to_size) != 10) {
            perror("watchdog_program: sendto");
            return 2;
        }
        if (sigtimedwait(&usr1, NULL, &quarter) == SIGUSR1) break;
        if (errno != EAGAIN && errno != EINTR) return 2;
    }
    note(fd, "hang", last_ping);
    for (;;) pause();
}
