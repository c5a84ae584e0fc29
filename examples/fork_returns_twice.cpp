// fork returns twice: in the parent it returns the new child's pid, in the child it returns 0, and
// from there on both processes run the same code. (brood::fork_here returns the child's handle in
// the parent and nothing in the child.)
#include <cstdio>
#include <optional>

#include <unistd.h>

#include <brood/brood.hpp>

int main() {
    // Printed once although stdout may be buffered: fork_here flushes before it forks.
    std::printf("parent: pid %d before fork\n", ::getpid());

    std::optional<brood::child> kid = brood::fork_here();
    if (kid) {
        std::printf("parent: fork returned child pid %d, getpid=%d getppid=%d\n", kid->pid(), ::getpid(), ::getppid());
    } else {
        std::printf("child: fork returned 0, getpid=%d getppid=%d\n", ::getpid(), ::getppid());
    }
    std::printf("both: this line is run by parent and child, here by pid %d\n", ::getpid());

    if (!kid) brood::exit_child(0);
    // The parent outlives the child, so the child's lines are never lost, and reaps it.
    const brood::wait_status status = kid->wait();
    std::printf("parent: child %d %s\n", kid->pid(), status.to_string().c_str());
    return status.success() ? 0 : 1;
}
