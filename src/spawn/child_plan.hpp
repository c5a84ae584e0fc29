// What the child needs between clone and exec, prepared entirely in the parent.
//
// Internal to spawn. Everything here is plain data: pointers into buffers the parent owns and keeps
// alive (its thread is suspended by CLONE_VFORK until the child execs or exits), so the child reads
// it without allocating. The child writes only to `report` and to the `source` fields of `moves`.
#pragma once

#include <cstddef>
#include <cstdint>

#include <sys/types.h>

namespace brood::detail {

// One fd the child must have: source (an fd of the parent, inherited by the child) becomes target.
// A source of no_source closes target instead: a spawner's child must not keep the spawner's own fd
// where its owner had none. A source of open_null opens /dev/null there: opened by the parent, it
// would be a new fd numbered above all of the parent's, and the child would copy them all.
struct fd_move {
    static constexpr int no_source = -1;
    static constexpr int open_null = -2;
    int source;
    int target;
};

// One resource limit; the layout of the kernel's struct rlimit64 for prlimit64.
struct child_limit {
    int resource;
    std::uint64_t soft;
    std::uint64_t hard;
};

// Filled in by the child when a step fails, just before it exits with code 127. stage stays
// no_failure when the exec succeeded. index tells which item failed (limit, fd move, exec candidate).
struct child_report {
    static constexpr int no_failure = -1;
    int stage = no_failure;  // a brood::spawn_stage
    int error = 0;           // errno
    int index = -1;
};

struct child_plan {
    // exec: argv and envp are null-terminated; candidates are the paths to try in order, like execvp.
    const char* const* argv = nullptr;
    const char* const* envp = nullptr;
    const char* const* candidates = nullptr;
    std::size_t candidate_count = 0;

    // Reset every signal with a handler to SIG_DFL, one by one. Not needed when the kernel did it
    // (clone3 with CLONE_CLEAR_SIGHAND, Linux 5.5); launch_child decides.
    bool reset_handlers = true;

    bool new_session = false;
    int terminal_fd = -1;  // >= 0: made the controlling terminal after setsid (the child has it until exec)
    bool set_pgid = false;
    pid_t pgid = 0;

    int death_signal = 0;  // 0: none
    pid_t parent_pid = 0;  // getpid() of the parent before clone, to detect a parent already gone

    const child_limit* limits = nullptr;
    std::size_t limit_count = 0;

    bool set_groups = false;
    bool groups_best_effort = false;  // the user's groups by default (not asked for): errors ignored
    const gid_t* groups = nullptr;
    std::size_t group_count = 0;
    bool set_gid = false;
    gid_t gid = 0;
    bool set_uid = false;
    uid_t uid = 0;

    const char* cwd = nullptr;  // null: stay
    bool set_umask = false;
    mode_t umask = 0;

    fd_move* moves = nullptr;  // distinct targets; the child may rewrite source while moving it
    std::size_t move_count = 0;
    int max_target = 2;

    bool close_other_fds = true;
    // > 0: the child shares the parent's fd table (CLONE_FILES) and first copies fds below this one
    // into a table of its own, before it changes any fd. Set by launch_child.
    int unshare_fds_from = 0;
    const int* keep = nullptr;  // ascending, distinct: 0, 1, 2 and every move's target
    std::size_t keep_count = 0;

    child_report* report = nullptr;
};

// The child's code from clone to exec. arg is a child_plan*. Never returns: execs or exits 127.
// Defined in child_main.cpp, the only code that runs in the child.
int child_main(void* arg) noexcept;

}  // namespace brood::detail
