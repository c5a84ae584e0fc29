// Creating the child: clone3(CLONE_VM|CLONE_VFORK|CLONE_PIDFD) through our trampoline, else glibc's
// clone() where clone3 is refused (old kernels, container seccomp profiles). Probed once, cached.
//
// Through clone3, a child that closes the fds it is not given shares the parent's fd table
// (CLONE_FILES) until its first step copies the few it needs (child_main): a clone without it copies
// the whole table, one slot per fd the parent holds, and the child closes them all again before exec.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spawn/spawn_plan.hpp"

extern "C" long brood_clone3(void* args, std::size_t size, int (*fn)(void*), void* arg);

namespace brood::detail {
namespace {

// struct clone_args of <linux/sched.h>, up to the cgroup field (CLONE_ARGS_SIZE_VER2). Older
// kernels accept the larger size as long as the fields they do not know are zero.
struct clone_args_v2 {
    std::uint64_t flags;
    std::uint64_t pidfd;
    std::uint64_t child_tid;
    std::uint64_t parent_tid;
    std::uint64_t exit_signal;
    std::uint64_t stack;
    std::uint64_t stack_size;
    std::uint64_t tls;
    std::uint64_t set_tid;
    std::uint64_t set_tid_size;
    std::uint64_t cgroup;
};
static_assert(sizeof(clone_args_v2) == 88);

constexpr std::uint64_t flag_pidfd = 0x1000;               // CLONE_PIDFD (Linux 5.2)
constexpr std::uint64_t flag_clear_sighand = 0x100000000ULL; // CLONE_CLEAR_SIGHAND (Linux 5.5)
constexpr std::uint64_t flag_into_cgroup = 0x200000000ULL; // CLONE_INTO_CGROUP (Linux 5.7)

// The child's stack, a local array of launch_child: CLONE_VFORK keeps this frame alive and
// untouched until the child has exec'd or exited. child_main's frame (-fstack-usage, GCC 12,
// x86_64) is 56 bytes at -O2, 88 with ASan+UBSan, about 4 KiB at -O0; no signal frame is ever
// pushed here (the child has no handler, or signals stay blocked until none is left).
constexpr std::size_t child_stack_size = 16 * 1024;

enum class support : int { unknown, yes, no };
std::atomic<support> clone3_support{support::unknown};
std::atomic<support> clone_pidfd_support{support::unknown};
std::atomic<support> clear_sighand_support{support::unknown};

#if defined(__x86_64__) || defined(__aarch64__)
constexpr bool have_trampoline = true;
#else
constexpr bool have_trampoline = false;
long brood_clone3_missing(void*, std::size_t, int (*)(void*), void*) { return -ENOSYS; }
#define brood_clone3 brood_clone3_missing
#endif

bool refused(long result) noexcept { return result == -ENOSYS || result == -EPERM; }

// The fds below which the child's table must be copied: every fd it reads before exec. 0 when it
// keeps every fd, and so needs a whole copy of the table from the clone.
int shared_fds_until(const child_plan& plan) noexcept {
    if (!plan.close_other_fds) return 0;
    int until = std::max(3, plan.terminal_fd + 1);
    for (std::size_t i = 0; i < plan.move_count; ++i) until = std::max(until, plan.moves[i].source + 1);
    return until;
}

}  // namespace

__attribute__((noinline)) pid_t launch_child(child_plan& plan, int cgroup_fd, int& pidfd, bool as_sibling) noexcept {
    alignas(64) char stack[child_stack_size];
    int fd = -1;
    long result = -ENOSYS;

    // With every signal blocked no handler of ours can run in the child before it has reset them.
    // A raw rt_sigprocmask: pthread_sigmask would leave glibc's own SIGCANCEL and SIGSETXID (32 and
    // 33) unblocked, and where CLONE_CLEAR_SIGHAND is missing the child has their handlers, which
    // would run glibc's thread code on the child's stack with the suspended thread's TLS. Once clone3
    // is known to take CLONE_CLEAR_SIGHAND, the child starts with no handler at all, and the mask is
    // left alone: two system calls fewer a spawn. The child unblocks everything before exec anyway.
    std::uint64_t all = ~std::uint64_t{0}, saved = 0;
    bool blocked = false;
    const auto block_all = [&]() noexcept {
        ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &saved, sizeof all);
        blocked = true;
    };

    plan.unshare_fds_from = shared_fds_until(plan);
    const std::uint64_t share_files = plan.unshare_fds_from > 0 ? CLONE_FILES : 0;
    const bool into_cgroup = cgroup_fd >= 0;
    const bool through_clone3 = have_trampoline && (into_cgroup || clone3_support.load(std::memory_order_relaxed) != support::no);
    if (!through_clone3 || clear_sighand_support.load(std::memory_order_relaxed) != support::yes) block_all();
    if (through_clone3) {
        clone_args_v2 args{};
        args.flags = CLONE_VM | CLONE_VFORK | share_files | flag_pidfd | (into_cgroup ? flag_into_cgroup : 0) |
                     (as_sibling ? CLONE_PARENT : 0);
        args.pidfd = reinterpret_cast<std::uintptr_t>(&fd);
        // A sibling's exit signal is its parent's choice, our own exit signal: clone3 wants 0 here.
        args.exit_signal = as_sibling ? 0 : SIGCHLD;
        args.stack = reinterpret_cast<std::uintptr_t>(stack);
        args.stack_size = sizeof stack;
        args.cgroup = into_cgroup ? static_cast<std::uint64_t>(cgroup_fd) : 0;
        // The kernel resets the handled signals for us, saving the child ~64 system calls.
        const bool clear_sighand = clear_sighand_support.load(std::memory_order_relaxed) != support::no;
        if (clear_sighand) args.flags |= flag_clear_sighand;
        plan.reset_handlers = !clear_sighand;
        result = brood_clone3(&args, sizeof args, child_main, &plan);
        if (clear_sighand && result == -EINVAL &&
            clear_sighand_support.load(std::memory_order_relaxed) == support::unknown) {
            // Linux 5.3 and 5.4 have clone3 but not CLONE_CLEAR_SIGHAND: reset in the child.
            args.flags &= ~flag_clear_sighand;
            plan.reset_handlers = true;
            result = brood_clone3(&args, sizeof args, child_main, &plan);
            if (result >= 0) clear_sighand_support.store(support::no, std::memory_order_relaxed);
        } else if (clear_sighand && result >= 0 &&
                   clear_sighand_support.load(std::memory_order_relaxed) == support::unknown) {
            clear_sighand_support.store(support::yes, std::memory_order_relaxed);
        }
        // Only a plain clone3 tells whether clone3 itself is refused; with a cgroup the error may
        // be about the cgroup, and there is no fallback anyway.
        if (!into_cgroup && clone3_support.load(std::memory_order_relaxed) == support::unknown)
            clone3_support.store(refused(result) ? support::no : support::yes, std::memory_order_relaxed);
    }

    if (!into_cgroup && refused(result)) {
        // glibc's clone() (the legacy system call): the pidfd comes back through parent_tid. The
        // child has our handlers: every signal blocked first.
        if (!blocked) block_all();
        char* const top = stack + sizeof stack;
        plan.reset_handlers = true;
        // Without CLONE_FILES: valgrind, which refuses clone3, runs only fork-like flag sets through
        // clone() and ends the whole process at any other.
        plan.unshare_fds_from = 0;
        const int flags = CLONE_VM | CLONE_VFORK | SIGCHLD | (as_sibling ? CLONE_PARENT : 0);
        result = -EINVAL;
        if (clone_pidfd_support.load(std::memory_order_relaxed) != support::no) {
            result = ::clone(child_main, top, flags | static_cast<int>(flag_pidfd), &plan,
                             reinterpret_cast<pid_t*>(&fd));
            if (result < 0) result = -errno;
            if (result == -EINVAL) clone_pidfd_support.store(support::no, std::memory_order_relaxed);
        }
        if (result == -EINVAL && clone_pidfd_support.load(std::memory_order_relaxed) == support::no) {
            fd = -1;  // kernel before 5.2: make_child_state opens a pidfd, if the kernel has any
            result = ::clone(child_main, top, flags, &plan);
            if (result < 0) result = -errno;
        }
    }

    if (blocked) ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &saved, nullptr, sizeof saved);
    // The child wrote the report in this memory behind the compiler's back: read it afresh.
    std::atomic_signal_fence(std::memory_order_seq_cst);
    pidfd = result >= 0 ? fd : -1;
    return static_cast<pid_t>(result);
}

void use_clone3_for_testing(bool enabled) noexcept {
    clone3_support.store(enabled ? support::unknown : support::no, std::memory_order_relaxed);
}

}  // namespace brood::detail
