// waitpid's first argument chooses which children to wait for, its options how:
//   pid > 0   that child          pid = 0   any child in my process group
//   pid = -1  any child           pid < -1  any child in process group -pid
//   WNOHANG   return at once when no child has changed; ECHILD when there is no child to wait for.
// brood::wait_child takes the same choice as a wait_selector and returns a value, not an errno.
#include <cstdio>
#include <variant>

#include <fcntl.h>
#include <unistd.h>

#include <brood/brood.hpp>

namespace {

// What one wait_child returned, as a line.
void report(const char* selector, const brood::wait_result& result) {
    if (const auto* event = std::get_if<brood::child_event>(&result)) {
        std::printf("%s: child %d %s\n", selector, event->pid, event->status.to_string().c_str());
    } else if (std::holds_alternative<brood::no_change>(result)) {
        std::printf("%s: no child has changed yet\n", selector);
    } else {
        std::printf("%s: no children to wait for\n", selector);
    }
}

// Blocks until the parent writes a byte to the pipe.
void wait_for_go(int fd) {
    char byte;
    while (::read(fd, &byte, 1) == -1 && errno == EINTR) {
    }
}

}  // namespace

int main() {
    int go[2];
    if (::pipe2(go, O_CLOEXEC) != 0) return 1;
    const brood::unique_fd go_read(go[0]), go_write(go[1]);

    // pid > 0, and WNOHANG while that child is still running.
    brood::child worker = brood::fork([&] {
        wait_for_go(go_read.get());
        return 1;
    });
    std::printf("parent: started child %d\n", worker.pid());
    report("WNOHANG", brood::wait_child(brood::wait_selector::process(worker.pid()), brood::wait_events::exit,
                                        brood::wait_mode::no_hang));
    if (::write(go_write.get(), "g", 1) != 1) return 1;
    report("pid > 0", brood::wait_child(brood::wait_selector::process(worker.pid())));

    // pid = 0: a child that stayed in our process group.
    brood::child same_group = brood::fork([] { return 2; });
    std::printf("parent: started child %d in my group %d\n", same_group.pid(), ::getpgrp());
    report("pid = 0", brood::wait_child(brood::wait_selector::own_group()));

    // pid < -1: a leader in a group of its own and a member that joins it.
    brood::child leader = brood::fork([&] {
        wait_for_go(go_read.get());
        return 5;
    });
    if (::setpgid(leader.pid(), leader.pid()) != 0) return 1;
    const pid_t group = leader.pid();
    brood::child member = brood::fork([group] { return ::setpgid(0, group) == 0 ? 4 : 1; });
    std::printf("parent: started child %d leading group %d and child %d joining it\n", leader.pid(), group,
                member.pid());
    report("pid < -1", brood::wait_child(brood::wait_selector::group(group)));  // the member: the leader waits
    if (::write(go_write.get(), "g", 1) != 1) return 1;
    report("pid < -1", brood::wait_child(brood::wait_selector::group(group)));

    // pid = -1: any child at all, until there is none.
    brood::child any = brood::fork([] { return 6; });
    std::printf("parent: started child %d\n", any.pid());
    report("pid = -1", brood::wait_child(brood::wait_selector::any()));
    report("pid = -1", brood::wait_child(brood::wait_selector::any()));
    return 0;
}
