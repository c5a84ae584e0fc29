// spawner: commands started from a small helper process, for a parent that holds many fds.
//
//   brood::spawner helper;                      // early, while this process has few fds
//   ...                                         // thousands of fds later:
//   brood::child c = helper.spawn(brood::command("check").arg("--quick"));
//
// command::spawn()'s child copies the parent's fd table up to the highest fd it is given, and
// closes those copies again before it runs the program: one step per slot. Given only low fds, that
// is a few. Given an fd opened late in a process that holds 5,000 (a fresh pipe, stdio::file()),
// it is about 400 µs per spawn, several times the spawn itself. A spawner is a process forked at
// its construction that keeps only a socket. spawn() prepares the
// child in this process as command::spawn() does (environment, user, limits, paths to try), sends
// that plan and only the fds the child is to have, and the helper makes the child, with a table of
// those few fds.
//
// The child is still this process's own: the helper creates it with CLONE_PARENT. It is reaped,
// waited for and signalled like any child of command::spawn(), through the same handle, and the
// same spawn_error describes a failure. spawn() falls back to command::spawn() where the helper
// cannot serve: a command that keeps every fd (close_other_fds(false)), a plan larger than one
// message (about 192 KiB: a huge environment), or a helper that is gone (killed from outside;
// running() then says so). The helper ends when the spawner is destroyed, or when the thread
// that made it ends (PR_SET_PDEATHSIG follows that thread): make it on a thread that lives as long.
// spawn() may be called from several threads; the helper serves one spawn at a time.
#pragma once

#include <mutex>

#include <brood/child.hpp>
#include <brood/command.hpp>
#include <brood/unique_fd.hpp>

namespace brood {

namespace detail {
struct spawner_link;
}

class spawner {
public:
    // Forks the helper now (fork_here: a copy of this process, which then closes every fd but its
    // socket). Throws std::system_error when it cannot be made.
    spawner();
    ~spawner();
    spawner(const spawner&) = delete;
    spawner& operator=(const spawner&) = delete;

    // As cmd.spawn(), the child made by the helper.
    child spawn(const command& cmd);

    // False once the helper is gone: spawns then take the direct path.
    bool running() const;
    // The helper's pid (0 once it is gone), for a view of the process tree.
    pid_t pid() const;

private:
    friend struct detail::spawner_link;
    mutable std::mutex mutex_;
    child helper_;
    unique_fd socket_;
};

}  // namespace brood
