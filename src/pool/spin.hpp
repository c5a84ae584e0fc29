// Spinning: the brief busy wait before a side of a pool channel goes to sleep.
#pragma once

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

}  // namespace brood::detail
