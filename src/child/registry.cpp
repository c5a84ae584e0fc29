#include "child/registry.hpp"

#include <cstdint>
#include <new>

#include <sys/mman.h>

#include "child/child_state.hpp"
#include "child/fork_private.hpp"

namespace brood::detail {
namespace {

std::size_t home(pid_t pid, std::size_t capacity) noexcept {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(pid) * 0x9E3779B97F4A7C15ULL) >> 32) & (capacity - 1);
}

// The slot holding pid, or the empty slot where it would go. Needs capacity > count.
std::size_t find(const registry_slot* slots, std::size_t capacity, pid_t pid) noexcept {
    std::size_t i = home(pid, capacity);
    while (slots[i].pid != 0 && slots[i].pid != pid) i = (i + 1) & (capacity - 1);
    return i;
}

bool holds(const fork_private& r, pid_t pid, std::size_t* at) noexcept {
    if (r.count == 0) return false;
    *at = find(r.slots, r.capacity, pid);
    return r.slots[*at].pid == pid;
}

// The first table is the page's own. A larger one has a mapping of its own, which a forked child
// does not get (MADV_DONTFORK): its page of fork_private forgets the table anyway.
void grow(fork_private& r) {
    if (r.capacity == 0) {
        r.slots = r.first_slots;
        r.capacity = first_registry_capacity;
        return;
    }
    const std::size_t capacity = r.capacity * 2;
    const std::size_t bytes = capacity * sizeof(registry_slot);
    void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
    ::madvise(memory, bytes, MADV_DONTFORK);
    auto* slots = static_cast<registry_slot*>(memory);
    for (std::size_t i = 0; i < r.capacity; ++i)
        if (r.slots[i].pid != 0) slots[find(slots, capacity, r.slots[i].pid)] = r.slots[i];
    if (r.slots != r.first_slots) ::munmap(r.slots, r.capacity * sizeof(registry_slot));
    r.slots = slots;
    r.capacity = capacity;
}

// Backward-shift deletion: no tombstones, so lookups never walk past a removed entry.
void erase_at(fork_private& r, std::size_t hole) noexcept {
    const std::size_t mask = r.capacity - 1;
    r.slots[hole] = registry_slot{};
    --r.count;
    for (std::size_t next = (hole + 1) & mask; r.slots[next].pid != 0; next = (next + 1) & mask) {
        const std::size_t want = home(r.slots[next].pid, r.capacity);
        const bool stays = hole <= next ? (want > hole && want <= next) : (want > hole || want <= next);
        if (stays) continue;
        r.slots[hole] = r.slots[next];
        r.slots[next] = registry_slot{};
        hole = next;
    }
}

}  // namespace

void register_child(child_state* state) {
    fork_private_lock r;
    if ((r->count + 1) * 2 > r->capacity) grow(*r);
    const std::size_t at = find(r->slots, r->capacity, state->pid);
    if (r->slots[at].pid == 0) ++r->count;
    r->slots[at] = registry_slot{state->pid, state};
}

void unregister_child(child_state* state) noexcept {
    fork_private_lock r;
    std::size_t at = 0;
    if (holds(*r, state->pid, &at) && r->slots[at].state == state) erase_at(*r, at);
}

bool deliver_status(pid_t pid, const wait_status& status) noexcept {
    fork_private_lock r;
    std::size_t at = 0;
    if (!holds(*r, pid, &at)) return false;
    r->slots[at].state->final_status = status;
    erase_at(*r, at);
    return true;
}

std::optional<wait_status> delivered_status(const child_state* state) noexcept {
    fork_private_lock r;
    return state->final_status;
}

}  // namespace brood::detail
