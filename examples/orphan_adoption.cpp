// An orphan is a child whose parent ended first. It is not left as garbage: it is given a new
// parent that reaps it when it exits. That is init, or the nearest ancestor that declared itself a
// child subreaper, as this program does.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <optional>

#include <fcntl.h>
#include <unistd.h>

#include <brood/brood.hpp>

int main() {
    brood::become_subreaper();
    std::printf("subreaper %d: is_subreaper=%s\n", ::getpid(), brood::is_subreaper() ? "yes" : "no");

    // SIGCHLD says when an adopted orphan has exited; blocked, it waits for sigwait below.
    sigset_t child_signal;
    sigemptyset(&child_signal);
    sigaddset(&child_signal, SIGCHLD);
    if (::sigprocmask(SIG_BLOCK, &child_signal, nullptr) != 0) return 1;

    int pipe_fds[2], go_fds[2], started_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) != 0 || ::pipe2(go_fds, O_CLOEXEC) != 0 || ::pipe2(started_fds, O_CLOEXEC) != 0)
        return 1;
    const brood::unique_fd pid_read(pipe_fds[0]), pid_write(pipe_fds[1]), go_read(go_fds[0]), go_write(go_fds[1]);
    const brood::unique_fd started_read(started_fds[0]), started_write(started_fds[1]);

    brood::child middle = brood::fork([&] {
        std::optional<brood::child> orphan = brood::fork_here();
        if (!orphan) {
            std::printf("orphan %d: started, my parent is %d\n", ::getpid(), ::getppid());
            std::fflush(stdout);
            if (::write(started_write.get(), "s", 1) != 1) brood::exit_child(1);
            char byte;
            while (::read(go_read.get(), &byte, 1) == -1 && errno == EINTR) {
            }
            std::printf("orphan %d: my parent is now %d\n", ::getpid(), ::getppid());
            brood::exit_child(5);
        }
        // The orphan has seen its first parent before that parent goes.
        char byte;
        while (::read(started_read.get(), &byte, 1) == -1 && errno == EINTR) {
        }
        const pid_t pid = orphan->pid();
        std::printf("middle %d: started child %d, exiting without waiting for it\n", ::getpid(), pid);
        if (::write(pid_write.get(), &pid, sizeof pid) != sizeof pid) brood::exit_child(1);
        brood::exit_child(0);  // the handle is never dropped: the child runs on without its parent
    });

    pid_t orphan = 0;
    if (::read(pid_read.get(), &orphan, sizeof orphan) != sizeof orphan) return 1;
    const brood::wait_status middle_status = middle.wait();
    std::printf("subreaper: middle %d %s\n", middle.pid(), middle_status.to_string().c_str());
    // Once the middle has been reaped its children have been handed over: they are ours now.
    const auto info = brood::proc::read_process(orphan);
    if (!info) return 1;
    std::printf("subreaper: orphan %d was adopted, its parent is now %d (me)\n", orphan, info->ppid);
    if (::write(go_write.get(), "g", 1) != 1) return 1;

    for (bool reaped = false; !reaped;) {
        int signal = 0;
        if (::sigwait(&child_signal, &signal) != 0) return 1;
        for (const brood::reaped_orphan& r : brood::reap_as_init()) {
            std::printf("subreaper: reaped orphan %d: %s\n", r.pid, r.status.to_string().c_str());
            reaped = reaped || r.pid == orphan;
        }
    }
    std::printf("subreaper: children left: %zu\n", brood::proc::children_of(::getpid()).size());
    return 0;
}
