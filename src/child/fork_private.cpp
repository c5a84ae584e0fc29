#include "child/fork_private.hpp"

#include <atomic>
#include <cstddef>
#include <new>

#include <sys/mman.h>
#include <unistd.h>

namespace brood::detail {
namespace {

constexpr fork_private empty_page() {
    return {PTHREAD_MUTEX_INITIALIZER, PTHREAD_RWLOCK_INITIALIZER, nullptr, 0, 0, nullptr, nullptr, nullptr, 0, {}};
}

// Where the kernel cannot wipe the page on fork (before Linux 4.14), or zero bytes are not the
// initializers in this libc, the child is given an empty page by hand.
void reset_in_child() { fork_private_page() = empty_page(); }

// Whether an empty page is zero bytes, as a wiped one is. The registry's first table is left out:
// its empty slots are a zero pid and a null pointer, as are the fields checked before it.
bool empty_page_is_zero() {
    const fork_private page = empty_page();
    const auto* bytes = reinterpret_cast<const unsigned char*>(&page);
    for (std::size_t i = 0; i < offsetof(fork_private, first_slots); ++i)
        if (bytes[i] != 0) return false;
    return true;
}

// The page, and after it the pool's first slab (a forked child, whose page is empty, maps its own).
fork_private* map_page() {
    constexpr std::size_t align = alignof(std::max_align_t);
    constexpr std::size_t page_bytes = (sizeof(fork_private) + align - 1) & ~(align - 1);
    static_assert(page_bytes < fork_private_mapping_bytes);
    void* memory =
        ::mmap(nullptr, fork_private_mapping_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
    auto* page = new (memory) fork_private(empty_page());
    page->unused = static_cast<char*>(memory) + page_bytes;
    page->unused_end = static_cast<char*>(memory) + fork_private_mapping_bytes;
    if (!empty_page_is_zero() || ::madvise(memory, fork_private_mapping_bytes, MADV_WIPEONFORK) != 0)
        ::pthread_atfork(nullptr, nullptr, reset_in_child);
    return page;
}

}  // namespace

fork_private& fork_private_page() {
    static fork_private* const page = map_page();
    return *page;
}

pid_t this_process_id() noexcept {
    // Threads may read it first at once: each stores the same value.
    std::atomic_ref<pid_t> pid(fork_private_page().pid);
    pid_t known = pid.load(std::memory_order_relaxed);
    if (known == 0) {
        known = ::getpid();
        pid.store(known, std::memory_order_relaxed);
    }
    return known;
}

}  // namespace brood::detail
