#include "monitor/child_table.hpp"

#include <utility>

namespace brood::detail {
namespace {

// Generations stay within 24 bits: the id must fit the 56-bit payload of an epoll key.
constexpr std::uint32_t generation_limit = 1u << 24;

}  // namespace

std::uint64_t child_table::insert(child process, std::uint64_t tag) {
    std::uint32_t slot;
    if (free_.empty()) {
        slot = static_cast<std::uint32_t>(slots_.size());
        slots_.emplace_back();
    } else {
        slot = free_.back();
        free_.pop_back();
    }
    watched_child& w = slots_[slot];
    w.pid = process.pid();
    w.process = std::move(process);
    w.tag = tag;
    if (index_pids_) by_pid_[w.pid] = slot;
    ++live_;
    return id_of(w, slot);
}

watched_child* child_table::find(std::uint64_t id) noexcept {
    const auto slot = static_cast<std::uint32_t>(id);
    if (slot >= slots_.size()) return nullptr;
    watched_child& w = slots_[slot];
    if (!w.process || w.generation != id >> 32) return nullptr;
    return &w;
}

std::uint64_t child_table::find_pid(pid_t pid) const noexcept {
    auto it = by_pid_.find(pid);
    return it == by_pid_.end() ? 0 : id_of(slots_[it->second], it->second);
}

child child_table::erase(std::uint64_t id) {
    watched_child* w = find(id);
    if (w == nullptr) return child();
    if (index_pids_) by_pid_.erase(w->pid);
    w->generation = w->generation + 1 == generation_limit ? 1 : w->generation + 1;
    w->pid = 0;
    free_.push_back(static_cast<std::uint32_t>(id));
    --live_;
    return std::move(w->process);
}

}  // namespace brood::detail
