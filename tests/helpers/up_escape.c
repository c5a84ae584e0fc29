/* up_escape FILE: forks a child that leaves the process group and session (setsid) and waits; its
 * pid is written to FILE. Then prints "ready" and waits until a signal ends it. A supervisor that
 * signals only the program's process group misses the child. */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc != 2) return 2;
    const pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
        if (setsid() < 0) _exit(1);
        for (;;) pause();
    }
    FILE* file = fopen(argv[1], "w");
    if (file == NULL) return 1;
    fprintf(file, "%d\n", (int)pid);
    fclose(file);
    printf("ready\n");
    fflush(stdout);
    for (;;) pause();
}
