// Processes do not share global variables: the child gets its own copy of num at the same address,
// so setting it to 10 in the child leaves the parent's 100 as it was.
#include <cstdio>

#include <unistd.h>

#include <brood/brood.hpp>

int num = 100;

int main() {
    brood::child kid = brood::fork([] {
        std::printf("child %d: num=%d at %p\n", ::getpid(), num, static_cast<void*>(&num));
        num = 10;
        std::printf("child %d: set num=%d at %p\n", ::getpid(), num, static_cast<void*>(&num));
    });
    // Waiting (not sleeping, as the tutorial does) proves the child has finished changing its copy.
    const brood::wait_status status = kid.wait();
    std::printf("parent: child %d %s\n", kid.pid(), status.to_string().c_str());
    std::printf("parent %d: num=%d at %p\n", ::getpid(), num, static_cast<void*>(&num));
    return status.success() ? 0 : 1;
}
