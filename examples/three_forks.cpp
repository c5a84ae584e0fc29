// Three forks in a row make eight processes: after each fork both processes go on to the next one,
// so 1 becomes 2, then 4, then 8, and the line after the forks is printed eight times.
// Here each process also reaps the children it forked, so none is left a zombie, and the first one
// counts the processes that ran the line.
#include <cerrno>
#include <cstdio>
#include <optional>
#include <set>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <brood/brood.hpp>

int main() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return 1;
    brood::unique_fd pids_read(fds[0]), pids_write(fds[1]);
    const pid_t first = ::getpid();

    std::vector<brood::child> mine;
    for (int i = 0; i < 3; ++i) {
        std::optional<brood::child> kid = brood::fork_here();
        if (kid) {
            mine.push_back(std::move(*kid));
        } else {
            mine.clear();  // the copied handles belong to our parent: a new process has no children yet
        }
    }

    std::printf("hello from pid %d, parent %d\n", ::getpid(), ::getppid());
    const pid_t self = ::getpid();
    if (::write(pids_write.get(), &self, sizeof self) != sizeof self) return 1;  // one write: never torn

    for (brood::child& kid : mine) {
        const brood::wait_status status = kid.wait();
        std::printf("pid %d reaped child %d: %s\n", ::getpid(), kid.pid(), status.to_string().c_str());
    }
    if (::getpid() != first) brood::exit_child(0);

    // Every other process has exited (each reaped its children before), so the pipe holds them all.
    pids_write.reset();
    std::set<pid_t> seen;
    for (pid_t pid; ::read(pids_read.get(), &pid, sizeof pid) == sizeof pid;) seen.insert(pid);
    std::printf("first process %d: %zu processes printed hello\n", first, seen.size());
    return seen.size() == 8 ? 0 : 1;
}
