// bell: how one side of a pool channel wakes the other once it stopped spinning.
//
// The sleeper raises its flag in shared memory, checks once more for what it waits for, and only
// then blocks on an eventfd. The other side, after publishing progress, reads the flag and rings
// the eventfd if the flag was up. Both the flag store and the position stores are seq_cst, so at
// least one of the two sees the other's write (Dekker): a wake-up cannot be lost. Bells are rung
// only when the other side sleeps, so a busy channel makes no system calls.
#pragma once

#include <atomic>
#include <cstdint>

#include <brood/unique_fd.hpp>

namespace brood::detail {

// A non-blocking eventfd (close-on-exec).
unique_fd make_bell();
void ring_bell(int bell) noexcept;
// Resets the bell after a wake-up.
void drain_bell(int bell) noexcept;

inline void wake_if_sleeping(std::atomic<std::uint32_t>& sleeping, int bell) noexcept {
    if (sleeping.load(std::memory_order_seq_cst) != 0 && sleeping.exchange(0, std::memory_order_seq_cst) != 0)
        ring_bell(bell);
}

}  // namespace brood::detail
