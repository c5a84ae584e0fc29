// Spinning: the brief busy wait before a side of a pool channel goes to sleep.
#pragma once

#include <algorithm>
#include <chrono>

namespace brood::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}

// Calls ready() until it is true (returns true) or budget has passed (returns false).
template <class Ready>
bool spin_until(Ready&& ready, std::chrono::nanoseconds budget) {
    if (ready()) return true;
    if (budget <= std::chrono::nanoseconds::zero()) return false;
    const auto deadline = std::chrono::steady_clock::now() + budget;
    for (unsigned i = 1;; ++i) {
        cpu_relax();
        if (ready()) return true;
        // The clock is read every 64 turns: it costs more than a turn.
        if (i % 64 == 0 && std::chrono::steady_clock::now() >= deadline) return false;
    }
}

// How long to spin before sleeping, adapted the way KVM adapts halt polling: an event that came
// within the longest spin after the sleep began would have been caught by spinning longer, so the
// spin grows; a later one means the other side is slow or off the CPU (a busy machine), and
// spinning only burns a CPU that someone else needs, so the spin shrinks, down to none.
class adaptive_spin {
public:
    explicit adaptive_spin(std::chrono::nanoseconds longest) noexcept : longest_(longest), budget_(longest) {}

    std::chrono::nanoseconds budget() const noexcept { return budget_; }
    // The event ended a sleep `came_after` after the sleep began.
    void slept(std::chrono::nanoseconds came_after) noexcept {
        if (came_after <= longest_)
            budget_ = std::min(longest_, std::max(budget_ * 2, longest_ / 16));
        else
            budget_ /= 2;
    }

private:
    std::chrono::nanoseconds longest_;
    std::chrono::nanoseconds budget_;
};

}  // namespace brood::detail
