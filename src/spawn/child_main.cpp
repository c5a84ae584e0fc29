// The only code that runs in a spawned child, from clone to exec.
//
// The child was made with CLONE_VM|CLONE_VFORK: it runs on a small stack of its own inside the
// parent's memory, while the thread that spawned it is suspended until the exec succeeds or the
// child exits. Other threads of the parent keep running in that same memory. So, in this file:
//
//   - no allocation (malloc/new), no lock, no stdio, no exception: another thread may hold the
//     allocator's or any other lock, and the child would deadlock or corrupt the parent's heap;
//   - no libc function at all, only raw system calls (sys() below). glibc wrappers write errno, a
//     thread-local variable of the *parent's* suspended thread, and some do much worse: setuid and
//     setgid broadcast to every thread of the process (SIGSETXID) and would change the parent's
//     credentials, getpid-style caches would be filled with the child's values;
//   - no sanitizer instrumentation (ASan, UBSan, TSan): their runtimes keep per-thread state in the
//     parent thread's TLS, which the child shares; every function here is built without it;
//   - write nothing in the parent's memory but the report (and the fd moves, scratch for the child);
//   - change no fd before the table is the child's own (unshare_fds): a child made with CLONE_FILES
//     shares the parent's;
//   - never return: exec, or exit_group(127) after filling the report.
//
// No handler of the parent's can run here: through clone3 with CLONE_CLEAR_SIGHAND the kernel
// leaves the child none; otherwise signals are all blocked when the child starts, glibc's internal
// 32 and 33 included (the parent blocked all 64 around clone with a raw rt_sigprocmask), and
// handlers are reset to default first. Signals are unblocked just before exec.
#include "spawn/child_plan.hpp"

#include <brood/error.hpp>

#include <cerrno>
#include <csignal>
#include <cstdint>

#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/prctl.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BROOD_CHILD_CODE                                                                         \
    __attribute__((no_sanitize("address", "undefined", "thread"), no_instrument_function,    \
                   no_stack_protector))
#define BROOD_CHILD_INLINE BROOD_CHILD_CODE __attribute__((always_inline)) inline

namespace brood::detail {
namespace {

// A raw system call: the result, or -errno. Touches no memory but what the kernel is given.
BROOD_CHILD_INLINE long sys(long n, long a = 0, long b = 0, long c = 0, long d = 0, long e = 0) noexcept {
#if defined(__x86_64__)
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
                     : "rcx", "r11", "memory");
    return ret;
#elif defined(__aarch64__)
    register long x8 __asm__("x8") = n;
    register long x0 __asm__("x0") = a;
    register long x1 __asm__("x1") = b;
    register long x2 __asm__("x2") = c;
    register long x3 __asm__("x3") = d;
    register long x4 __asm__("x4") = e;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4) : "memory");
    return x0;
#else
    // Elsewhere: glibc's syscall(), which is a plain trap, but keep the parent's errno intact.
    const int saved = errno;
    long ret = ::syscall(n, a, b, c, d, e);
    if (ret == -1) ret = -errno;
    errno = saved;
    return ret;
#endif
}

[[noreturn]] BROOD_CHILD_INLINE void exit_now(int code) noexcept {
    for (;;) sys(SYS_exit_group, code);
}

// Records the failing stage for the parent, then exits.
[[noreturn]] BROOD_CHILD_INLINE void fail(const child_plan& plan, spawn_stage stage, long result,
                                          int index = -1) noexcept {
    child_report* report = plan.report;
    report->error = static_cast<int>(-result);
    report->index = index;
    report->stage = static_cast<int>(stage);
    exit_now(127);
}

// The kernel's struct sigaction for rt_sigaction (x86_64 and aarch64 share this layout).
struct kernel_sigaction {
    unsigned long handler;
    unsigned long flags;
    unsigned long restorer;
    std::uint64_t mask;
};
constexpr unsigned long handler_default = 0;  // SIG_DFL
constexpr unsigned long handler_ignore = 1;   // SIG_IGN
constexpr int kernel_signals = 64;

BROOD_CHILD_INLINE void set_default(const child_plan& plan, int sig) noexcept {
    kernel_sigaction dfl{};
    dfl.handler = handler_default;
    const long r = sys(SYS_rt_sigaction, sig, reinterpret_cast<long>(&dfl), 0, sizeof(std::uint64_t));
    if (r < 0) fail(plan, spawn_stage::signals, r, sig);
}

// Every signal with a handler goes back to its default action: a handler of the parent's must not
// run in the child between unblocking and exec (exec would reset it, but only at exec). SIGPIPE
// goes back to default even when ignored: programs expect to die on a broken pipe. Where clone3
// had CLONE_CLEAR_SIGHAND the kernel already reset the handlers: only SIGPIPE is left to do.
BROOD_CHILD_INLINE void reset_signals(const child_plan& plan) noexcept {
    if (!plan.reset_handlers) {
        set_default(plan, SIGPIPE);
        return;
    }
    for (int sig = 1; sig <= kernel_signals; ++sig) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        kernel_sigaction old{};
        long r = sys(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&old), sizeof(std::uint64_t));
        if (r < 0) {
            if (r == -EINVAL) continue;  // a signal this kernel does not know
            fail(plan, spawn_stage::signals, r, sig);
        }
        if (old.handler > handler_ignore || (sig == SIGPIPE && old.handler == handler_ignore)) set_default(plan, sig);
    }
}

BROOD_CHILD_INLINE long unblock_all_signals() noexcept {
    std::uint64_t empty = 0;
    return sys(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&empty), 0, sizeof(empty));
}

BROOD_CHILD_INLINE bool is_other_target(const child_plan& plan, std::size_t self, int fd) noexcept {
    for (std::size_t j = 0; j < plan.move_count; ++j)
        if (j != self && plan.moves[j].target == fd) return true;
    return false;
}

// A source that is also the target of another move could be overwritten by that move's dup before
// it is read (a swap of two fds, stdout and stderr exchanged...). So first every such source is
// moved above the highest target (close-on-exec), then each source is duplicated onto its target,
// in any order. A source already equal to its target only loses close-on-exec.
BROOD_CHILD_INLINE void redirect_fds(const child_plan& plan) noexcept {
    for (std::size_t i = 0; i < plan.move_count; ++i) {
        fd_move& m = plan.moves[i];
        if (m.source == fd_move::no_source || m.source == m.target || m.source > plan.max_target ||
            !is_other_target(plan, i, m.source))
            continue;
        const long r = sys(SYS_fcntl, m.source, F_DUPFD_CLOEXEC, plan.max_target + 1);
        // EINVAL here only means max_target + 1 is at or above RLIMIT_NOFILE: out of fds.
        if (r < 0) fail(plan, spawn_stage::redirect, r == -EINVAL ? -EMFILE : r, static_cast<int>(i));
        m.source = static_cast<int>(r);
    }
    for (std::size_t i = 0; i < plan.move_count; ++i) {
        const fd_move& m = plan.moves[i];
        long r;
        if (m.source == fd_move::no_source) {
            sys(SYS_close, m.target);  // EBADF only says it was not open: closed either way
            continue;
        }
        if (m.source == m.target)
            r = sys(SYS_fcntl, m.target, F_SETFD, 0);
        else
            r = sys(SYS_dup3, m.source, m.target, 0);
        if (r < 0) fail(plan, spawn_stage::redirect, r, static_cast<int>(i));
    }
}

// A child made with CLONE_FILES writes to the parent's own fd table until it has one of its own:
// close_range's CLOSE_RANGE_UNSHARE copies only the fds below unshare_fds_from into it (Linux 5.9),
// where unshare copies them all. The highest fd that may still be open in the copy.
BROOD_CHILD_INLINE unsigned unshare_fds(const child_plan& plan) noexcept {
    const auto from = static_cast<unsigned>(plan.unshare_fds_from);
    long r = sys(SYS_close_range, from, ~0u, CLOSE_RANGE_UNSHARE);
    if (r == 0) return from - 1;
    if (r == -ENOSYS || r == -EINVAL) r = sys(SYS_unshare, CLONE_FILES);
    if (r < 0) fail(plan, spawn_stage::close_fds, r);
    return ~0u;
}

// /dev/null for each move that asks for it, as its source: opened before the limits (a child limited
// to 3 fds still gets it) and close-on-exec, then moved as any other source.
BROOD_CHILD_INLINE void open_null_sources(const child_plan& plan) noexcept {
    for (std::size_t i = 0; i < plan.move_count; ++i) {
        fd_move& m = plan.moves[i];
        if (m.source != fd_move::open_null) continue;
        const long r = sys(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/dev/null"), O_RDWR | O_CLOEXEC);
        if (r < 0) fail(plan, spawn_stage::redirect, r, static_cast<int>(i));
        m.source = static_cast<int>(r);
    }
}

// Closes [first, last] except nothing (the caller passes gaps between kept fds).
BROOD_CHILD_INLINE void close_fd_range(const child_plan& plan, unsigned first, unsigned last,
                                       unsigned& loop_limit) noexcept {
    if (first > last) return;
    const long r = sys(SYS_close_range, first, last, 0);
    if (r == 0) return;
    if (r != -ENOSYS && r != -EINVAL) fail(plan, spawn_stage::close_fds, r);
    // Kernels before 5.9: close one by one, up to the soft RLIMIT_NOFILE (no fd can be above it
    // unless the limit was lowered after opening it, a case we accept).
    if (loop_limit == 0) {
        std::uint64_t lim[2] = {1024, 1024};
        if (sys(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, reinterpret_cast<long>(lim)) == 0 && lim[0] < (1u << 20))
            loop_limit = static_cast<unsigned>(lim[0]);
        else
            loop_limit = 1u << 20;
    }
    for (unsigned fd = first; fd <= last && fd < loop_limit; ++fd) sys(SYS_close, fd);
}

// Every fd up to highest_open but those kept. Above it, the only fds are the kept targets, and
// /dev/null and redirect_fds's copies, which are close-on-exec.
BROOD_CHILD_INLINE void close_other_fds(const child_plan& plan, unsigned highest_open) noexcept {
    unsigned next = 0;  // lowest fd not yet decided
    unsigned loop_limit = 0;
    for (std::size_t i = 0; i < plan.keep_count && next <= highest_open; ++i) {
        const unsigned kept = static_cast<unsigned>(plan.keep[i]);
        if (kept > next) close_fd_range(plan, next, kept - 1 < highest_open ? kept - 1 : highest_open, loop_limit);
        next = kept + 1;
    }
    close_fd_range(plan, next, highest_open, loop_limit);
}

// Like execvp, over candidates the parent prepared: a missing file or directory moves on to the
// next one, a permission error is remembered and moves on, anything else (ENOEXEC included: no
// retry through /bin/sh) stops at once.
[[noreturn]] BROOD_CHILD_INLINE void exec_program(const child_plan& plan) noexcept {
    long last = -ENOENT;
    int last_index = -1;
    int denied_index = -1;
    for (std::size_t i = 0; i < plan.candidate_count; ++i) {
        const long r = sys(SYS_execve, reinterpret_cast<long>(plan.candidates[i]),
                           reinterpret_cast<long>(plan.argv), reinterpret_cast<long>(plan.envp));
        if (r == -ENOENT || r == -ENOTDIR) {
            last = r;
            last_index = static_cast<int>(i);
        } else if (r == -EACCES) {
            if (denied_index < 0) denied_index = static_cast<int>(i);
        } else {
            fail(plan, spawn_stage::exec, r, static_cast<int>(i));
        }
    }
    if (denied_index >= 0) fail(plan, spawn_stage::exec, -EACCES, denied_index);
    fail(plan, spawn_stage::exec, last, last_index);
}

}  // namespace

__attribute__((noinline)) BROOD_CHILD_CODE int child_main(void* arg) noexcept {
    const child_plan& plan = *static_cast<const child_plan*>(arg);
    long r;

    const unsigned highest_open = plan.unshare_fds_from > 0 ? unshare_fds(plan) : ~0u;
    open_null_sources(plan);

    reset_signals(plan);

    if (plan.new_session && (r = sys(SYS_setsid)) < 0) fail(plan, spawn_stage::session, r);
    // The fd is the parent's, inherited by the clone; close-on-exec or not, it is open until exec.
    if (plan.terminal_fd >= 0 && (r = sys(SYS_ioctl, plan.terminal_fd, TIOCSCTTY, 0)) < 0)
        fail(plan, spawn_stage::terminal, r);
    if (plan.set_pgid && (r = sys(SYS_setpgid, 0, plan.pgid)) < 0) fail(plan, spawn_stage::process_group, r);

    for (std::size_t i = 0; i < plan.limit_count; ++i) {
        const child_limit& l = plan.limits[i];
        r = sys(SYS_prlimit64, 0, l.resource, reinterpret_cast<long>(&l.soft), 0);
        if (r < 0) fail(plan, spawn_stage::rlimit, r, static_cast<int>(i));
    }

    // Raw setgroups/setgid/setuid change this process only (glibc's would signal all our threads).
    if (plan.set_groups) {
        r = sys(SYS_setgroups, static_cast<long>(plan.group_count), reinterpret_cast<long>(plan.groups));
        if (r < 0 && !plan.groups_best_effort) fail(plan, spawn_stage::groups, r, 0);
    }
    if (plan.set_gid && (r = sys(SYS_setgid, plan.gid)) < 0) fail(plan, spawn_stage::groups, r, 1);
    if (plan.set_uid && (r = sys(SYS_setuid, plan.uid)) < 0) fail(plan, spawn_stage::user, r);

    // After the credentials: a change of uid or gid clears the parent-death signal.
    if (plan.death_signal != 0) {
        r = sys(SYS_prctl, PR_SET_PDEATHSIG, plan.death_signal);
        if (r < 0) fail(plan, spawn_stage::parent_death, r);
        // The parent may have died before the prctl: then no signal will ever come. Act as if it had.
        if (sys(SYS_getppid) != plan.parent_pid) {
            unblock_all_signals();
            sys(SYS_kill, sys(SYS_getpid), plan.death_signal);
            exit_now(127);
        }
    }

    if (plan.cwd != nullptr && (r = sys(SYS_chdir, reinterpret_cast<long>(plan.cwd))) < 0)
        fail(plan, spawn_stage::chdir, r);
    if (plan.set_umask) sys(SYS_umask, plan.umask);  // cannot fail

    redirect_fds(plan);
    if (plan.close_other_fds) close_other_fds(plan, highest_open);

    if ((r = unblock_all_signals()) < 0) fail(plan, spawn_stage::signals, r);
    exec_program(plan);
}

}  // namespace brood::detail
