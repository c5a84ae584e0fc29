// bell: how one side of a pool channel wakes the other once it stopped spinning.
//
// The sleeper raises its flag in shared memory, checks once more for what it waits for, and only
// then blocks on an eventfd. The other side, after publishing progress, reads the flag and rings
// the eventfd if the flag was up. Both the flag store and the position stores are seq_cst, so at
// least one of the two sees the other's write (Dekker): a wake-up cannot be lost. Bells are rung
// only when the other side sleeps, so a busy channel makes no system calls.
//
// The ringer also stamps when it rang (CLOCK_MONOTONIC is the same clock in every process): the
// sleeper learns how long after it went to sleep the event came, which tells it whether spinning
// longer would have caught it (adaptive_spin, spin.hpp), however slow its own wake-up was.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

#include <brood/unique_fd.hpp>

namespace brood::detail {

// A non-blocking eventfd (close-on-exec).
unique_fd make_bell();
void ring_bell(int bell) noexcept;
// Resets the bell after a wake-up.
void drain_bell(int bell) noexcept;

// A sleeper's side of a channel: its flag, and when it was last rung (steady_clock nanoseconds).
struct sleeper {
    alignas(64) std::atomic<std::uint32_t> sleeping{0};
    std::atomic<std::int64_t> rung_at{0};
};

inline std::int64_t now_ns() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

inline void wake_if_sleeping(sleeper& other, int bell) noexcept {
    if (other.sleeping.load(std::memory_order_seq_cst) != 0 && other.sleeping.exchange(0, std::memory_order_seq_cst) != 0) {
        other.rung_at.store(now_ns(), std::memory_order_relaxed);
        ring_bell(bell);
    }
}

}  // namespace brood::detail
