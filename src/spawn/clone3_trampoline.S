/* brood_clone3: clone3 with the child running fn(arg) on the stack given in args.
 *
 *   long brood_clone3(struct clone_args* args, size_t size, int (*fn)(void*), void* arg);
 *
 * Returns the child's pid or -errno in the parent. glibc 2.36 has no clone3 wrapper, and a C
 * wrapper cannot work: after the syscall the child is on a new, empty stack, so it must not return
 * through the caller's frame. Here the child calls fn(arg) on its own stack and then makes the exit
 * system call with fn's result; it never returns. fn and arg are kept in registers the system call
 * preserves (x86_64: r8/r9, aarch64: x9/x10), since the child cannot read the caller's stack.
 */

#if defined(__x86_64__)

        .text
        .globl  brood_clone3
        .hidden brood_clone3
        .type   brood_clone3, @function
        .p2align 4
brood_clone3:
        .cfi_startproc
        endbr64                         /* IBT: a valid target of an indirect call (a no-op elsewhere) */
        movq    %rdx, %r8               /* fn */
        movq    %rcx, %r9               /* arg */
        movl    $435, %eax              /* __NR_clone3; rdi = args, rsi = size */
        syscall
        testq   %rax, %rax
        jz      1f
        ret                             /* parent: pid, or -errno */
1:
        .cfi_undefined rip              /* child: outermost frame, for unwinders and debuggers */
        xorl    %ebp, %ebp
        andq    $-16, %rsp              /* ABI alignment at the call */
        movq    %r9, %rdi
        call    *%r8
        movl    %eax, %edi
        movl    $60, %eax               /* __NR_exit */
        syscall
        hlt
        .cfi_endproc
        .size   brood_clone3, .-brood_clone3

        .section .note.GNU-stack,"",@progbits

/* This object is compatible with IBT and SHSTK (CET): the linker marks a program or library with
 * them only if every object it links says so, and without this note, libbrood would switch them
 * off in every program that links it. The note is written out rather than taken from <cet.h>,
 * which emits it only when the assembler is run with -fcf-protection: build systems rarely pass
 * the C flags to assembly (CMake's ASM flags are separate). Both are true whatever the flags:
 * - IBT: the one entry point starts with endbr64. fn is reached by an indirect call, so it must
 *   start with one too: the compiler adds it wherever -fcf-protection is on, which is also the
 *   only case in which IBT can be on for the whole library.
 * - SHSTK: calls and returns pair up. With CLONE_VFORK the kernel gives the child the parent's
 *   shadow stack: the child pushes below the suspended parent's entries and never returns past
 *   its own first call; the parent returns as it was called. */
        .section .note.gnu.property,"a"
        .p2align 3
        .long   4                       /* name size: "GNU\0" */
        .long   16                      /* descriptor size */
        .long   5                       /* NT_GNU_PROPERTY_TYPE_0 */
        .asciz  "GNU"
        .long   0xc0000002              /* GNU_PROPERTY_X86_FEATURE_1_AND */
        .long   4                       /* its data: 4 bytes */
        .long   3                       /* GNU_PROPERTY_X86_FEATURE_1_IBT | _SHSTK */
        .p2align 3

#elif defined(__aarch64__)

        .text
        .globl  brood_clone3
        .hidden brood_clone3
        .type   brood_clone3, %function
        .p2align 2
brood_clone3:
        .cfi_startproc
        hint    #34                     /* bti c: a no-op where BTI is absent */
        mov     x9, x2                  /* fn */
        mov     x10, x3                 /* arg */
        mov     x8, #435                /* __NR_clone3; x0 = args, x1 = size */
        svc     #0
        cbz     x0, 1f
        ret                             /* parent: pid, or -errno */
1:
        .cfi_undefined x30              /* child: outermost frame */
        mov     x29, #0
        mov     x30, #0
        mov     x11, sp                 /* ABI alignment (sp must stay 16-aligned) */
        and     x11, x11, #-16
        mov     sp, x11
        mov     x0, x10
        blr     x9
        mov     x8, #93                 /* __NR_exit; x0 = fn's result */
        svc     #0
        brk     #0
        .cfi_endproc
        .size   brood_clone3, .-brood_clone3

        .section .note.GNU-stack,"",%progbits

#else
/* Other architectures have no trampoline: spawn uses glibc's clone() there. */
        .section .note.GNU-stack,"",%progbits
#endif
