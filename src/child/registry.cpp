#include "child/registry.hpp"

#include <condition_variable>
#include <mutex>
#include <unordered_map>

#include <pthread.h>

#include "child/child_state.hpp"

namespace brood::detail {
namespace {

std::mutex registry_mutex;
std::condition_variable delivered;
std::unordered_map<pid_t, child_state*>& registry() {
    static auto* map = new std::unordered_map<pid_t, child_state*>;  // never destroyed: used by late destructors
    return *map;
}

// A fork while another thread holds the lock would leave the child's copy locked forever.
void lock_for_fork() { registry_mutex.lock(); }
void unlock_after_fork() { registry_mutex.unlock(); }
[[maybe_unused]] const int fork_handlers = ::pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork);

}  // namespace

void register_child(child_state* state) {
    std::lock_guard lock(registry_mutex);
    registry()[state->pid] = state;
}

void unregister_child(child_state* state) noexcept {
    std::lock_guard lock(registry_mutex);
    auto it = registry().find(state->pid);
    if (it != registry().end() && it->second == state) registry().erase(it);
}

bool deliver_status(pid_t pid, const wait_status& status) noexcept {
    std::lock_guard lock(registry_mutex);
    auto it = registry().find(pid);
    if (it == registry().end()) return false;
    it->second->final_status = status;
    registry().erase(it);
    delivered.notify_all();
    return true;
}

std::optional<wait_status> delivered_status(const child_state* state) noexcept {
    std::lock_guard lock(registry_mutex);
    return state->final_status;
}

std::optional<wait_status> await_delivered(const child_state* state, std::chrono::milliseconds timeout) noexcept {
    std::unique_lock lock(registry_mutex);
    delivered.wait_for(lock, timeout, [state] { return state->final_status.has_value(); });
    return state->final_status;
}

}  // namespace brood::detail
