// A child that has exited while its parent lives on is a zombie until the parent reaps it with
// wait(), which returns the child's pid and how it ended.
#include <cerrno>
#include <cstdio>
#include <string>
#include <variant>

#include <sys/wait.h>
#include <unistd.h>

#include <brood/brood.hpp>

int main() {
    brood::child kid = brood::fork([] {
        std::printf("child %d: exiting with code 3\n", ::getpid());
        return 3;
    });
    const pid_t pid = kid.pid();

    // Wait for the exit without reaping (WNOWAIT): the child stays a zombie we can look at.
    siginfo_t info{};
    while (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) == -1 && errno == EINTR) {
    }
    const auto zombie = brood::proc::read_process(pid);
    if (!zombie) return 1;
    std::printf("parent: child %d has exited, before wait its state is %c (%s)\n", pid, zombie->state,
                std::string(brood::proc::state_name(zombie->state)).c_str());

    // os.wait(): reap any child; it tells which one and how it ended.
    const brood::wait_result result = brood::wait_child(brood::wait_selector::any());
    const auto* reaped = std::get_if<brood::child_event>(&result);
    if (reaped == nullptr) return 1;
    std::printf("parent: wait returned pid %d, %s\n", reaped->pid, reaped->status.to_string().c_str());

    std::printf("parent: after wait, /proc/%d is %s\n", pid, brood::proc::read_process(pid) ? "still there" : "gone");
    // The handle learns the status of its child even though wait_child reaped it.
    std::printf("parent: the handle of child %d says %s\n", pid, kid.wait().to_string().c_str());
    return 0;
}
