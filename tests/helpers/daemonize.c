/* daemonize: starts a daemon the classic way (fork, setsid, fork again, standard streams to
 * /dev/null, SIGTERM and SIGHUP ignored) that waits forever, prints the daemon's pid and exits 0
 * once the daemon runs. Only a kill the daemon cannot ignore (SIGKILL) ends it. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void) {
    int report[2];
    if (pipe(report) != 0) return 2;
    const pid_t middle = fork();
    if (middle < 0) return 2;
    if (middle == 0) {
        if (setsid() < 0) _exit(2);
        const pid_t daemon = fork();
        if (daemon < 0) _exit(2);
        if (daemon == 0) {
            signal(SIGTERM, SIG_IGN);
            signal(SIGHUP, SIG_IGN);
            const int null = open("/dev/null", O_RDWR);
            if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) _exit(2);
            close(null);
            close(report[0]);
            const pid_t self = getpid();
            if (write(report[1], &self, sizeof self) != sizeof self) _exit(2);
            close(report[1]);
            for (;;) pause();
        }
        _exit(0);
    }
    close(report[1]);
    int status;
    if (waitpid(middle, &status, 0) != middle || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 2;
    pid_t daemon = 0;
    if (read(report[0], &daemon, sizeof daemon) != sizeof daemon) return 2;
    printf("%d\n", (int)daemon);
    return 0;
}
