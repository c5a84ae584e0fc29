// The child module's bookkeeping that a fork does not copy: one mapping that reaches a forked child
// zero-filled (MADV_WIPEONFORK), holding the locks, the child registry's first table and the roots
// of the pool of handle states, whose first slab is the rest of the mapping: a process's first
// children cost one mmap and one madvise, and a single page fault, rather than three of each.
//
// A forked child owns none of its parent's children, and a lock another thread held at the fork
// would stay locked in the child: starting from zero gives it an empty registry, an empty pool and
// an unlocked mutex, with no pthread_atfork handler. And the fork does not write-protect the page
// in the parent, whose bookkeeping right after each fork would otherwise copy it (a page written
// while a new child still shares it is copied, with a TLB flush on every CPU the process ran on).
#pragma once

#include <cstddef>

#include <pthread.h>
#include <sys/types.h>

namespace brood::detail {

struct child_state;

struct registry_slot {
    pid_t pid;  // 0: empty
    child_state* state;
};

// Slots of the registry's first table, in the fork_private page itself.
inline constexpr std::size_t first_registry_capacity = 32;
// The whole mapping: the fork_private page, then the first states of the pool.
inline constexpr std::size_t fork_private_mapping_bytes = 64 * 1024;

struct fork_private {
    pthread_mutex_t mutex;
    // Births and reaps by selector (birth_lock.hpp). Here, so a forked child starts with it free
    // although the forking thread holds it.
    pthread_rwlock_t births;
    // The child registry: open addressing, linear probing, in first_slots until it outgrows them,
    // then in a mapping of its own (MADV_DONTFORK).
    registry_slot* slots;
    std::size_t capacity;  // a power of two, or 0
    std::size_t count;
    // The pool of handle states (state_pool.cpp): those given back, then the rest of the newest slab.
    void* free_states;
    char* unused;
    char* unused_end;
    // This process's id once read (glibc does not cache it): 0 in a forked child, which reads its own.
    pid_t pid;
    registry_slot first_slots[first_registry_capacity];
};

// This process's page, mapped at first use; never unmapped (late destructors use it).
fork_private& fork_private_page();

// This process's id, from the page: a handle checks it at each use (is it this process's child or a
// forked copy's?), and a system call each time would be most of what such a check costs.
pid_t this_process_id() noexcept;

// Holds the page's mutex for a scope.
class fork_private_lock {
public:
    fork_private_lock() : page_(fork_private_page()) { ::pthread_mutex_lock(&page_.mutex); }
    ~fork_private_lock() { ::pthread_mutex_unlock(&page_.mutex); }
    fork_private_lock(const fork_private_lock&) = delete;
    fork_private_lock& operator=(const fork_private_lock&) = delete;
    fork_private* operator->() const noexcept { return &page_; }
    fork_private& operator*() const noexcept { return page_; }

private:
    fork_private& page_;
};

}  // namespace brood::detail
