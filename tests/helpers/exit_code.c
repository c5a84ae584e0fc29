/* exit_code N: exits with code N (0 without an argument). */
#include <stdlib.h>

int main(int argc, char** argv) { return argc > 1 ? atoi(argv[1]) : 0; }
