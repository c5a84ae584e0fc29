/* Says "ready" once it runs its own code, then sleeps in read() until its stdin reaches end of file
   and exits 0: a process whose /proc entry stays put while a test looks at it. The "ready" matters:
   a spawner is released during execve, before the kernel has set up the new command line. */
#include <unistd.h>

int main(void) {
    char buffer[256];
    if (write(1, "ready\n", 6) != 6) return 1;
    while (read(0, buffer, sizeof buffer) > 0) {
    }
    return 0;
}
