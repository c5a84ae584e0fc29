/* print_fds: prints the fds open in this process, ascending, separated by spaces: "0 1 2\n".
 * The fd of the directory listing itself is left out. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

static int ascending(const void* a, const void* b) { return *(const int*)a - *(const int*)b; }

int main(void) {
    DIR* dir = opendir("/proc/self/fd");
    if (dir == NULL) return 2;
    int fds[4096];
    int n = 0;
    struct dirent* entry;
    while ((entry = readdir(dir)) != NULL && n < 4096) {
        if (entry->d_name[0] == '.') continue;
        const int fd = atoi(entry->d_name);
        if (fd != dirfd(dir)) fds[n++] = fd;
    }
    closedir(dir);
    qsort(fds, (size_t)n, sizeof fds[0], ascending);
    for (int i = 0; i < n; ++i) printf(i == 0 ? "%d" : " %d", fds[i]);
    printf("\n");
    return 0;
}
