// Watching a child with WUNTRACED | WCONTINUED: besides its end, the parent learns when the child is
// stopped by a signal and when it is continued, and tells them apart with the wait status, not by
// comparing signal numbers that differ between systems (SIGSTOP is 19 on Linux, 17 on macOS).
//
// Run it, then from another shell: kill -STOP <child>; kill -CONT <child>; kill -TERM <child>.
// The parent blocks in one wait per event: no sleeping and polling as in the tutorial.
#include <cstdio>

#include <sys/prctl.h>
#include <unistd.h>

#include <brood/brood.hpp>

int main() {
    std::setvbuf(stdout, nullptr, _IOLBF, 0);  // whoever reads our output sees each line at once

    const pid_t parent = ::getpid();
    brood::child kid = brood::fork([parent] {
        // Never loop on alone: should the parent die, so does the child.
        if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || ::getppid() != parent) return 1;
        for (int i = 0;; ++i) {
            std::printf("child %d: tick %d\n", ::getpid(), i);
            ::sleep(1);
        }
    });
    std::printf("parent: watching child %d (kill -STOP %d, kill -CONT %d, kill -TERM %d)\n", kid.pid(), kid.pid(),
                kid.pid(), kid.pid());

    for (;;) {
        const brood::wait_status event = kid.wait(brood::wait_events::all);
        if (event.stopped_signal()) {
            std::printf("parent: child %d %s: it has not exited, only stopped working\n", kid.pid(),
                        event.to_string().c_str());
        } else if (event.continued()) {
            std::printf("parent: child %d continued: it runs again\n", kid.pid());
        } else {
            std::printf("parent: child %d ended: %s\n", kid.pid(), event.to_string().c_str());
            return 0;
        }
    }
}
