#include "child/birth_lock.hpp"

#include <pthread.h>

#include "child/fork_private.hpp"

namespace brood::detail {

birth_scope::birth_scope() noexcept { ::pthread_rwlock_rdlock(&fork_private_page().births); }

birth_scope::~birth_scope() {
    if (held_) ::pthread_rwlock_unlock(&fork_private_page().births);
}

selector_reap_scope::selector_reap_scope() noexcept { ::pthread_rwlock_wrlock(&fork_private_page().births); }

selector_reap_scope::~selector_reap_scope() { ::pthread_rwlock_unlock(&fork_private_page().births); }

void await_selector_reaps() noexcept {
    birth_scope wait_turn;
}

}  // namespace brood::detail
