// Copy-on-write. After fork a child's page tables point at the parent's pages, marked read-only;
// the first write to a page makes the kernel copy that page for the writer alone.
//
// Part 1, as in the tutorial: three children each change the same object. Each sees its own value
// at the same address, and the parent keeps 10.
// Part 2, in numbers from /proc/self/smaps_rollup: a 64 MiB buffer is shared right after fork and
// becomes the child's private memory only as the child writes it.
#include <cinttypes>
#include <cstdio>
#include <vector>

#include <unistd.h>

#include <brood/brood.hpp>

namespace {

struct test_fork {
    long age;
};
test_fork tf{10};

void print_memory(const char* when) {
    const auto usage = brood::proc::read_memory(::getpid());
    if (!usage) brood::exit_child(1);
    std::printf("child %d: %s: shared=%" PRIu64 " private_dirty=%" PRIu64 "\n", ::getpid(), when, usage->shared(),
                usage->private_dirty);
}

}  // namespace

int main() {
    std::vector<brood::child> children;
    for (int i = 0; i < 3; ++i) {
        children.push_back(brood::fork([] {
            tf.age = ::getpid();
            std::printf("child %d: age=%ld object at %p\n", ::getpid(), tf.age, static_cast<void*>(&tf));
        }));
    }
    for (brood::child& kid : children)
        if (!kid.wait().success()) return 1;
    std::printf("parent %d: age=%ld object at %p\n", ::getpid(), tf.age, static_cast<void*>(&tf));

    constexpr std::size_t size = 64u << 20;
    const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    std::vector<char> buffer(size, 'p');  // every page written: real memory, not the shared zero page
    std::printf("parent %d: buffer of %zu bytes filled with 'p'\n", ::getpid(), size);

    brood::child writer = brood::fork([&] {
        print_memory("before writing");
        for (std::size_t i = 0; i < size; i += page) buffer[i] = 'c';
        print_memory("after writing");
    });
    if (!writer.wait().success()) return 1;

    std::size_t kept = 0;
    for (std::size_t i = 0; i < size; i += page) kept += buffer[i] == 'p';
    std::printf("parent %d: %zu of %zu pages still hold 'p'\n", ::getpid(), kept, size / page);
    return kept == size / page ? 0 : 1;
}
