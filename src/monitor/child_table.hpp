// The children a monitor watches: a slab indexed by watch id, plus a pid index for stop events.
//
// A watch id is (generation << 32) | slot. The generation changes every time a slot is freed, so a
// stale id (or a stale epoll registration left by a forked copy of a pidfd) finds nothing.
#pragma once

#include <cstdint>
#include <unordered_map>
#include <vector>

#include <sys/types.h>

#include <brood/child.hpp>

namespace brood::detail {

struct watched_child {
    child process;           // empty while the slot is free
    std::uint64_t tag = 0;
    pid_t pid = 0;
    std::uint32_t generation = 1;
};

class child_table {
public:
    // index_pids: keep pid -> slot, needed only to attribute stop / continue events.
    explicit child_table(bool index_pids) : index_pids_(index_pids) {}

    std::uint64_t insert(child process, std::uint64_t tag);
    watched_child* find(std::uint64_t id) noexcept;
    // The id watching pid, 0 if none (only with index_pids).
    std::uint64_t find_pid(pid_t pid) const noexcept;
    // Frees the slot and returns its child; an empty handle for an unknown id.
    child erase(std::uint64_t id);
    std::size_t size() const noexcept { return live_; }
    // Calls f(id, watched_child&) for every watched child; f may erase the one it is given.
    template <class F>
    void for_each(F&& f) {
        for (std::uint32_t slot = 0; slot < slots_.size(); ++slot)
            if (slots_[slot].process) f(id_of(slots_[slot], slot), slots_[slot]);
    }

    static std::uint64_t id_of(const watched_child& w, std::uint32_t slot) noexcept {
        return (std::uint64_t{w.generation} << 32) | slot;
    }

private:
    std::vector<watched_child> slots_;
    std::vector<std::uint32_t> free_;
    std::unordered_map<pid_t, std::uint32_t> by_pid_;
    bool index_pids_;
    std::size_t live_ = 0;
};

}  // namespace brood::detail
