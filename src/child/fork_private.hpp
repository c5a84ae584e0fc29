// The child module's bookkeeping that a fork does not copy: one page that reaches a forked child
// zero-filled (MADV_WIPEONFORK), holding the locks and the roots of the child registry and of the
// pool of handle states.
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

struct fork_private {
    pthread_mutex_t mutex;
    // Births and reaps by selector (birth_lock.hpp). Here, so a forked child starts with it free
    // although the forking thread holds it.
    pthread_rwlock_t births;
    // The child registry: open addressing, linear probing, in its own mapping (MADV_DONTFORK).
    registry_slot* slots;
    std::size_t capacity;  // a power of two, or 0
    std::size_t count;
    // The pool of handle states (state_pool.cpp): those given back, then the rest of the newest slab.
    void* free_states;
    char* unused;
    char* unused_end;
};

// This process's page, mapped at first use; never unmapped (late destructors use it).
fork_private& fork_private_page();

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
