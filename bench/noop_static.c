/* noop_static: the smallest program brood's spawn benchmarks can exec.
 *
 * Static, no libc, no dynamic loader, no start files: the kernel maps one tiny ELF and jumps to
 * _start, which makes the exit_group(0) system call. Spawning it therefore costs clone + execve +
 * exit + wait and nothing else, so the benchmarks see the spawn path itself rather than ld.so.
 *
 * Built with: -static -nostdlib -nostartfiles -fno-pie (see bench/CMakeLists.txt). x86-64 and
 * aarch64 only; on other architectures the C fallback needs a libc (_exit).
 */

#if defined(__x86_64__)
__asm__(".text\n"
        ".global _start\n"
        ".type _start, @function\n"
        "_start:\n"
        "    mov $231, %eax\n" /* __NR_exit_group */
        "    xor %edi, %edi\n"
        "    syscall\n"
        "    hlt\n");
#elif defined(__aarch64__)
__asm__(".text\n"
        ".global _start\n"
        ".type _start, %function\n"
        "_start:\n"
        "    mov x8, #94\n" /* __NR_exit_group */
        "    mov x0, #0\n"
        "    svc #0\n");
#else
#error "noop_static: add the exit_group system call for this architecture"
#endif
