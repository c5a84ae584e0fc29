/* ignore_term: ignores SIGTERM, prints "ready", then waits forever (only SIGKILL ends it). */
#include <signal.h>
#include <unistd.h>

int main(void) {
    if (signal(SIGTERM, SIG_IGN) == SIG_ERR) return 2;
    if (write(1, "ready\n", 6) != 6) return 3;
    for (;;) pause();
}
