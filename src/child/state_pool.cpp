// Where the states of owned children come from: slabs of this module's own that reach a forked
// child zero-filled (MADV_WIPEONFORK), with the free list on the fork_private page (the first slab
// is the rest of that page's mapping). After a fork each page either process writes is copied:
// the parent writes the new child's state at once, and from malloc that would copy the state's
// page and three more (the allocator's cache, the chunk's neighbour, errno). Only the owning
// process reads a state (child.hpp), so a child needs none of its parent's.
#include <cstddef>
#include <new>

#include <sys/mman.h>

#include "child/child_state.hpp"
#include "child/fork_private.hpp"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(address, size) ((void)(address), (void)(size))
#define ASAN_UNPOISON_MEMORY_REGION(address, size) ((void)(address), (void)(size))
#endif

namespace brood::detail {
namespace {

// Never unmapped: a slab outlives any one state in it. Where the kernel cannot wipe (before Linux
// 4.14) a child gets a copy it never reads, and the parent copies a page per fork as with malloc.
constexpr std::size_t slab_bytes = 64 * 1024;
constexpr std::size_t state_align = alignof(std::max_align_t);
constexpr std::size_t state_bytes = (sizeof(child_state) + state_align - 1) & ~(state_align - 1);

struct free_state {
    free_state* next;
};
static_assert(sizeof(free_state) <= state_bytes);

void* carve(fork_private& page) {
    if (static_cast<std::size_t>(page.unused_end - page.unused) < state_bytes) {
        void* slab = ::mmap(nullptr, slab_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (slab == MAP_FAILED) throw std::bad_alloc();
        ::madvise(slab, slab_bytes, MADV_WIPEONFORK);
        page.unused = static_cast<char*>(slab);
        page.unused_end = page.unused + slab_bytes;
    }
    void* state = page.unused;
    page.unused += state_bytes;
    return state;
}

}  // namespace

void* child_state::operator new(std::size_t size) {
    if (size > state_bytes) throw std::bad_alloc();  // no type derives from child_state
    fork_private_lock page;
    auto* state = static_cast<free_state*>(page->free_states);
    if (state == nullptr) return carve(*page);
    ASAN_UNPOISON_MEMORY_REGION(state, state_bytes);
    page->free_states = state->next;
    return state;
}

void child_state::operator delete(void* state) noexcept {
    if (state == nullptr) return;
    fork_private_lock page;
    static_cast<free_state*>(state)->next = static_cast<free_state*>(page->free_states);
    page->free_states = state;
    ASAN_POISON_MEMORY_REGION(state, state_bytes);
}

}  // namespace brood::detail
