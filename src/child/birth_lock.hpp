// No window between a child's birth and its registration.
//
// A child exists from the clone on, but its handle is registered only once the clone has returned.
// A reap by selector in another thread (reap_as_init, wait_child(any)) that took the child in
// between would find no owner: it would report brood's own child as a stranger, and the handle
// would find ECHILD. So whoever creates a child holds this lock shared from before the clone until
// the handle is registered (or the failed child is reaped), and a reap by selector holds it
// exclusively from its waitid until the status is delivered. A reap by selector therefore never
// meets a child of brood's that is not registered yet, and a handle whose child was reaped by
// selector finds the status delivered once it has taken the lock shared. Births do not wait for
// each other, only for a reap by selector in progress.
//
// The lock lives on the fork-private page: a forked child starts with it free, although the
// forking thread holds it.
#pragma once

namespace brood::detail {

class birth_scope {
public:
    birth_scope() noexcept;
    ~birth_scope();
    birth_scope(const birth_scope&) = delete;
    birth_scope& operator=(const birth_scope&) = delete;
    // In a forked child: the lock on its page is not held, there is nothing to release.
    void forget_in_child() noexcept { held_ = false; }

private:
    bool held_ = true;
};

class selector_reap_scope {
public:
    selector_reap_scope() noexcept;
    ~selector_reap_scope();
    selector_reap_scope(const selector_reap_scope&) = delete;
    selector_reap_scope& operator=(const selector_reap_scope&) = delete;
};

// Returns once no reap by selector is between its waitid and the delivery of what it reaped.
void await_selector_reaps() noexcept;

}  // namespace brood::detail
