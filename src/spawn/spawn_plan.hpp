// Internal to spawn: turning a brood::command into a child_plan, in the parent, before the clone.
#pragma once

#include <string>
#include <vector>

#include <sys/types.h>

#include <brood/command.hpp>
#include <brood/error.hpp>
#include <brood/unique_fd.hpp>

#include "spawn/child_plan.hpp"

namespace brood {

// command's private members, for spawn's own files only (command befriends this type).
struct detail_spawn_access {
    static const auto& env_changes(const command& c) noexcept { return c.env_changes_; }
    static bool env_clear(const command& c) noexcept { return c.env_clear_; }
    static const auto& cwd(const command& c) noexcept { return c.cwd_; }
    static const stdio& stdin_(const command& c) noexcept { return c.stdin_; }
    static const stdio& stdout_(const command& c) noexcept { return c.stdout_; }
    static const stdio& stderr_(const command& c) noexcept { return c.stderr_; }
    static const auto& extra_fds(const command& c) noexcept { return c.extra_fds_; }
    static const auto& pgid(const command& c) noexcept { return c.pgid_; }
    static bool new_session(const command& c) noexcept { return c.new_session_; }
    static int terminal_fd(const command& c) noexcept { return c.terminal_fd_; }
    static int death_signal(const command& c) noexcept { return c.death_signal_; }
    static const auto& umask(const command& c) noexcept { return c.umask_; }
    static const auto& rlimits(const command& c) noexcept { return c.rlimits_; }
    static const auto& uid(const command& c) noexcept { return c.uid_; }
    static const auto& user_name(const command& c) noexcept { return c.user_name_; }
    static const auto& gid(const command& c) noexcept { return c.gid_; }
    static const auto& groups(const command& c) noexcept { return c.groups_; }
    static int cgroup_fd(const command& c) noexcept { return c.cgroup_fd_; }
    static bool close_other_fds(const command& c) noexcept { return c.close_other_fds_; }
    static drop_policy policy(const command& c) noexcept { return c.drop_policy_; }
};

namespace detail {

// Buffers reused from one spawn to the next on the same thread, so that a spawn in steady state
// allocates nothing for its strings and arrays.
struct spawn_buffers {
    std::string text;                 // every string the child needs, NUL-separated, never reallocated
    std::string path;                 // the PATH searched
    std::vector<const char*> ptrs;    // argv, null, envp, null, candidates, null
    std::vector<fd_move> moves;
    std::vector<int> keep;
    std::vector<child_limit> limits;
};

// The plan for one spawn: owns the fds opened for it and the buffers it points into.
class spawn_plan {
public:
    // Prepares everything for the child; throws spawn_error (stage prepare) when something cannot be
    // opened or the command is invalid (an argument with a NUL byte, an empty variable name...).
    spawn_plan(const command& cmd, const stdio& in, const stdio& out, const stdio& err);
    spawn_plan(const spawn_plan&) = delete;
    spawn_plan& operator=(const spawn_plan&) = delete;
    ~spawn_plan();

    child_plan& plan() noexcept { return plan_; }
    // The parent's end of each stdio pipe (empty for other kinds), to hand to the child handle.
    unique_fd& parent_end(int stream) noexcept { return parent_ends_[stream]; }
    // Closes the parent's copies of what only the child needs (child ends of pipes, opened files).
    void close_child_ends() noexcept;

    // The words that follow the stage in a spawn_error: a path, an fd, a limit...
    std::string failure_detail(const child_report& report) const;

private:
    [[noreturn]] void fail(int error, std::string detail) const;
    void prepare_strings();
    void prepare_stdio(int stream, const stdio& s);
    void prepare_fds();
    void prepare_credentials();

    const command& cmd_;
    spawn_buffers& buf_;
    child_plan plan_;
    const std::string& path_var_;   // PATH searched, when the program has no '/' (in buf_)
    std::vector<gid_t> user_groups_;  // the user's groups from the user database, when they apply
    unique_fd child_ends_[3];
    unique_fd parent_ends_[3];
    const stdio* stdio_[3];
};

// Creates the child with a vfork-style clone and runs child_main(plan) in it. Returns the pid, or
// -errno when no child could be made. pidfd receives the child's pidfd, or -1 if none came back.
// as_sibling (CLONE_PARENT): the child is our parent's, not ours; a spawner's children are.
pid_t launch_child(child_plan& plan, int cgroup_fd, int& pidfd, bool as_sibling = false) noexcept;

// Test seam: false makes spawn act as where clone3 is refused (glibc clone() with CLONE_PIDFD);
// true probes clone3 again. Tests declare it themselves; it is not part of the public API.
void use_clone3_for_testing(bool enabled) noexcept;

}  // namespace detail
}  // namespace brood

namespace brood::detail {

// Makes the child of a prepared plan, as launch_child does: pid or -errno, and the pidfd.
struct launcher {
    pid_t (*launch)(void* context, child_plan& plan, int cgroup_fd, int& pidfd) noexcept;
    void* context;
};

// command::spawn with the three standard streams given explicitly (output() overrides them); by
// launch_child here, or by the launcher given (a spawner's helper).
child spawn_command(const command& cmd, const stdio& in, const stdio& out, const stdio& err,
                    const launcher* through = nullptr);

}  // namespace brood::detail
