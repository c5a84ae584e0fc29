/* print_args: prints each of argv (argv[0] included) on its own line. */
#include <stdio.h>

int main(int argc, char** argv) {
    for (int i = 0; i < argc; ++i) printf("%s\n", argv[i]);
    return 0;
}
