#include "child/fork_private.hpp"

#include <new>

#include <sys/mman.h>

namespace brood::detail {
namespace {

constexpr fork_private empty_page() {
    return {PTHREAD_MUTEX_INITIALIZER, PTHREAD_RWLOCK_INITIALIZER, nullptr, 0, 0, nullptr, nullptr, nullptr};
}

// Where the kernel cannot wipe the page on fork (before Linux 4.14), or zero bytes are not the
// initializers in this libc, the child is given an empty page by hand.
void reset_in_child() { fork_private_page() = empty_page(); }

bool all_zero(const fork_private& page) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(&page);
    for (std::size_t i = 0; i < sizeof page; ++i)
        if (bytes[i] != 0) return false;
    return true;
}

fork_private* map_page() {
    void* page = ::mmap(nullptr, sizeof(fork_private), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) throw std::bad_alloc();
    auto* mapped = new (page) fork_private(empty_page());
    if (!all_zero(empty_page()) || ::madvise(page, sizeof(fork_private), MADV_WIPEONFORK) != 0)
        ::pthread_atfork(nullptr, nullptr, reset_in_child);
    return mapped;
}

}  // namespace

fork_private& fork_private_page() {
    static fork_private* const page = map_page();
    return *page;
}

}  // namespace brood::detail
