// command: a builder for spawning a program, and the conveniences output() and run().
//
// Usage:
//   auto c = brood::command("grep").arg("-c").arg("x")
//                .set_stdin(brood::stdio::pipe()).set_stdout(brood::stdio::pipe())
//                .cwd("/tmp").env("LC_ALL", "C").process_group().spawn();
//   auto r = brood::command("ls").arg("-l").output();   // {status, out, err}
//
// The child is created with clone3(CLONE_VM|CLONE_VFORK|CLONE_PIDFD) on a small stack: its cost does
// not grow with the parent's memory. Everything the child needs (argv, envp, PATH candidates, fds)
// is prepared in the parent; between clone and exec the child makes only raw system calls.
// Every fd except 0, 1, 2 and those asked for with inherit_fd is closed in the child (close_range).
// A failed setup step or exec throws brood::spawn_error naming the program, the stage and errno; the
// failed child is reaped before the throw. A command can be spawned many times and from many threads.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/resource.h>
#include <sys/types.h>

#include <brood/child.hpp>

namespace brood {

// Where one of the child's standard streams goes.
class stdio {
public:
    enum class kind { inherit, null, pipe, file, fd };

    static stdio inherit() noexcept { return stdio(kind::inherit); }
    static stdio null() noexcept { return stdio(kind::null); }
    // A pipe; the parent's end is child::stdin_pipe() / stdout_pipe() / stderr_pipe().
    static stdio pipe() noexcept { return stdio(kind::pipe); }
    // A file opened in the parent: read for stdin; for stdout/stderr created, truncated or appended.
    static stdio file(std::filesystem::path path, bool append = false);
    // An fd of the parent's (not taken over: it stays open in the parent).
    static stdio fd(int fd) noexcept;

    kind type() const noexcept { return kind_; }
    const std::filesystem::path& path() const noexcept { return path_; }
    bool append() const noexcept { return append_; }
    int parent_fd() const noexcept { return fd_; }

private:
    explicit stdio(kind k) noexcept : kind_(k) {}
    kind kind_;
    std::filesystem::path path_;
    bool append_ = false;
    int fd_ = -1;
};

struct output_options {
    std::optional<std::string> input;                    // written to stdin, then stdin is closed
    std::optional<std::chrono::milliseconds> timeout;    // then SIGKILL and reap
};

struct process_output {
    wait_status status;
    std::string out;
    std::string err;
    bool timed_out = false;
};

class command {
public:
    // program is looked up in the PATH of the child's environment (set with env(), else inherited;
    // /usr/local/bin:/usr/bin:/bin when the child has none) unless it contains a '/'.
    explicit command(std::string program);

    command& arg(std::string value);
    template <class Range>
    command& args(const Range& values) {
        for (const auto& v : values) arg(std::string(v));
        return *this;
    }
    // argv[0] as the program sees it (default: the program as given).
    command& arg0(std::string value);

    // Environment: starts as the parent's (at spawn time) unless cleared.
    command& env(std::string key, std::string value);
    command& env_remove(std::string key);
    command& env_clear();

    command& cwd(std::filesystem::path dir);

    command& set_stdin(stdio s);
    command& set_stdout(stdio s);
    command& set_stderr(stdio s);
    // The parent's fd parent_fd becomes child_fd in the child (child_fd >= 3).
    command& inherit_fd(int child_fd, int parent_fd);

    // setpgid: 0 makes the child the leader of a new group; else joins the group pgid.
    command& process_group(pid_t pgid = 0);
    // setsid: new session and process group, no controlling terminal.
    command& new_session();
    // The terminal open at fd (the slave side of a pseudo-terminal, or any terminal) becomes the
    // child's controlling terminal (ioctl TIOCSCTTY, after setsid): implies new_session(). fd stays
    // open in the parent; the child's stdio still comes from set_stdin/set_stdout/set_stderr.
    command& controlling_terminal(int fd);
    // The child gets signal when the thread that spawned it exits (PR_SET_PDEATHSIG).
    command& die_with_parent(int signal = SIGKILL);
    command& umask(mode_t mask);
    command& rlimit(int resource, rlim_t soft, rlim_t hard);
    // The child's user (setuid, after the groups). From root the child also gets the user's groups,
    // read from the user database (getpwuid_r, getgrouplist) by this process at each spawn, as su
    // and systemd's User= do: its primary group unless group() is set, the groups it is a member of
    // (with that primary group) unless supplementary_groups() is set. A uid with no entry needs
    // group(); it then has no supplementary groups. A process that is not root gets no defaults (it
    // can only take on ids it already has).
    command& user(uid_t uid);
    // The same by name, looked up at each spawn; a name with no entry fails (stage prepare, ENOENT).
    command& user(std::string name);
    command& group(gid_t gid);
    command& supplementary_groups(std::vector<gid_t> groups);
    // Start the child inside the cgroup v2 directory open at fd (clone3 CLONE_INTO_CGROUP).
    command& into_cgroup(int cgroup_dir_fd);
    // Default true: close every fd the child was not asked to have.
    command& close_other_fds(bool close);
    // What the returned child's destructor does while it still runs (default: kill and reap).
    command& on_drop(drop_policy policy);

    const std::string& program() const noexcept { return program_; }
    const std::vector<std::string>& argv() const noexcept { return argv_; }

    child spawn() const;
    // Spawns with stdout and stderr captured (and stdin fed when input is set), reads both without
    // deadlock whatever their size, and reaps. Output read before a timeout is kept.
    process_output output(const output_options& options = {}) const;
    // Spawns and waits; stdio as configured.
    wait_status run() const;

private:
    friend struct detail_spawn_access;
    std::string program_;
    std::vector<std::string> argv_;
    bool env_clear_ = false;
    std::vector<std::pair<std::string, std::optional<std::string>>> env_changes_;  // nullopt: remove
    std::optional<std::filesystem::path> cwd_;
    stdio stdin_ = stdio::inherit();
    stdio stdout_ = stdio::inherit();
    stdio stderr_ = stdio::inherit();
    std::vector<std::pair<int, int>> extra_fds_;  // {child_fd, parent_fd}
    std::optional<pid_t> pgid_;
    bool new_session_ = false;
    int terminal_fd_ = -1;
    int death_signal_ = 0;
    std::optional<mode_t> umask_;
    struct limit {
        int resource;
        rlim_t soft, hard;
    };
    std::vector<limit> rlimits_;
    std::optional<uid_t> uid_;
    std::optional<std::string> user_name_;
    std::optional<gid_t> gid_;
    std::optional<std::vector<gid_t>> groups_;
    int cgroup_fd_ = -1;
    bool close_other_fds_ = true;
    drop_policy drop_policy_{};
};

}  // namespace brood
