/* print_cwd: prints the working directory. */
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    char dir[PATH_MAX];
    if (getcwd(dir, sizeof dir) == NULL) return 2;
    printf("%s\n", dir);
    return 0;
}
