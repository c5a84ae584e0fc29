/* Blocks in read() until its stdin reaches end of file, then exits with the code given as argv[1].
   Many of them sharing one pipe all exit at the moment its last writer closes it. */
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
    char buffer[64];
    while (read(0, buffer, sizeof buffer) > 0) {
    }
    return argc > 1 ? atoi(argv[1]) : 0;
}
