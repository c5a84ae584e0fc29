/* Sleeps in read() until its stdin reaches end of file, then exits 0: a process whose /proc entry
   stays put while a test looks at it. */
#include <unistd.h>

int main(void) {
    char buffer[256];
    while (read(0, buffer, sizeof buffer) > 0) {
    }
    return 0;
}
