#include "child/registry.hpp"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <new>

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "child/child_state.hpp"

namespace brood::detail {
namespace {

struct slot {
    pid_t pid;  // 0: empty
    child_state* state;
};

// The registry lives in pages a fork does not hand over as they are: the header reaches a forked
// child zero-filled (MADV_WIPEONFORK) and the slots not at all (MADV_DONTFORK). So a child starts
// with an empty registry (it owns none of its parent's children) and an unlocked mutex (one that
// another thread held at the fork would stay locked), with no pthread_atfork handler; and the fork
// leaves these pages writable in the parent, whose bookkeeping right after each fork would
// otherwise pay a copy-on-write fault per page (tens of µs each on some hypervisors).
struct registry_header {
    pthread_mutex_t mutex;
    pthread_cond_t delivered;
    slot* slots;           // open addressing, linear probing
    std::size_t capacity;  // a power of two, or 0
    std::size_t count;
};

constexpr registry_header empty_registry() {
    return {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, nullptr, 0, 0};
}

registry_header* the_header = nullptr;

// Where the kernel cannot wipe the page on fork, or zero bytes are not the initializers in this
// libc, the child is given an empty registry by hand.
void reset_in_child() { *the_header = empty_registry(); }

bool all_zero(const registry_header& header) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(&header);
    for (std::size_t i = 0; i < sizeof header; ++i)
        if (bytes[i] != 0) return false;
    return true;
}

registry_header* map_header() {
    void* page = ::mmap(nullptr, sizeof(registry_header), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) throw std::bad_alloc();
    the_header = new (page) registry_header(empty_registry());
    if (!all_zero(empty_registry()) || ::madvise(page, sizeof(registry_header), MADV_WIPEONFORK) != 0)
        ::pthread_atfork(nullptr, nullptr, reset_in_child);
    return the_header;
}

registry_header& header() {
    static registry_header* const header = map_header();  // never unmapped: used by late destructors
    return *header;
}

class locked {
public:
    locked() : header_(header()) { ::pthread_mutex_lock(&header_.mutex); }
    ~locked() { ::pthread_mutex_unlock(&header_.mutex); }
    locked(const locked&) = delete;
    locked& operator=(const locked&) = delete;
    registry_header* operator->() const noexcept { return &header_; }
    registry_header& operator*() const noexcept { return header_; }

private:
    registry_header& header_;
};

std::size_t home(pid_t pid, std::size_t capacity) noexcept {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(pid) * 0x9E3779B97F4A7C15ULL) >> 32) & (capacity - 1);
}

// The slot holding pid, or the empty slot where it would go. Needs capacity > count.
std::size_t find(const registry_header& r, pid_t pid) noexcept {
    std::size_t i = home(pid, r.capacity);
    while (r.slots[i].pid != 0 && r.slots[i].pid != pid) i = (i + 1) & (r.capacity - 1);
    return i;
}

bool holds(const registry_header& r, pid_t pid, std::size_t* at) noexcept {
    if (r.count == 0) return false;
    *at = find(r, pid);
    return r.slots[*at].pid == pid;
}

void grow(registry_header& r) {
    const std::size_t capacity = r.capacity == 0 ? 4096 / sizeof(slot) : r.capacity * 2;
    void* memory = ::mmap(nullptr, capacity * sizeof(slot), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) throw std::bad_alloc();
    ::madvise(memory, capacity * sizeof(slot), MADV_DONTFORK);  // only hygiene: the child's header forgets it
    registry_header bigger = r;
    bigger.slots = static_cast<slot*>(memory);
    bigger.capacity = capacity;
    for (std::size_t i = 0; i < r.capacity; ++i)
        if (r.slots[i].pid != 0) bigger.slots[find(bigger, r.slots[i].pid)] = r.slots[i];
    if (r.slots != nullptr) ::munmap(r.slots, r.capacity * sizeof(slot));
    r.slots = bigger.slots;
    r.capacity = capacity;
}

// Backward-shift deletion: no tombstones, so lookups never walk past a removed entry.
void erase_at(registry_header& r, std::size_t hole) noexcept {
    const std::size_t mask = r.capacity - 1;
    r.slots[hole] = slot{};
    --r.count;
    for (std::size_t next = (hole + 1) & mask; r.slots[next].pid != 0; next = (next + 1) & mask) {
        const std::size_t want = home(r.slots[next].pid, r.capacity);
        const bool stays = hole <= next ? (want > hole && want <= next) : (want > hole || want <= next);
        if (stays) continue;
        r.slots[hole] = r.slots[next];
        r.slots[next] = slot{};
        hole = next;
    }
}

}  // namespace

void register_child(child_state* state) {
    locked r;
    if ((r->count + 1) * 2 > r->capacity) grow(*r);
    const std::size_t at = find(*r, state->pid);
    if (r->slots[at].pid == 0) ++r->count;
    r->slots[at] = slot{state->pid, state};
}

void unregister_child(child_state* state) noexcept {
    locked r;
    std::size_t at = 0;
    if (holds(*r, state->pid, &at) && r->slots[at].state == state) erase_at(*r, at);
}

bool deliver_status(pid_t pid, const wait_status& status) noexcept {
    locked r;
    std::size_t at = 0;
    if (!holds(*r, pid, &at)) return false;
    r->slots[at].state->final_status = status;
    erase_at(*r, at);
    ::pthread_cond_broadcast(&r->delivered);
    return true;
}

std::optional<wait_status> delivered_status(const child_state* state) noexcept {
    locked r;
    return state->final_status;
}

std::optional<wait_status> await_delivered(const child_state* state, std::chrono::milliseconds timeout) noexcept {
    timespec deadline{};
    ::clock_gettime(CLOCK_MONOTONIC, &deadline);
    const long long nanoseconds = deadline.tv_nsec + static_cast<long long>(timeout.count() % 1000) * 1000000;
    deadline.tv_sec += static_cast<time_t>(timeout.count() / 1000 + nanoseconds / 1000000000);
    deadline.tv_nsec = static_cast<long>(nanoseconds % 1000000000);
    locked r;
    while (!state->final_status.has_value())
        if (::pthread_cond_clockwait(&r->delivered, &r->mutex, CLOCK_MONOTONIC, &deadline) == ETIMEDOUT) break;
    return state->final_status;
}

}  // namespace brood::detail
