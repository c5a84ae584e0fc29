// byte_ring: a byte stream in shared memory from one process (the producer) to another (the
// consumer), like a pipe without system calls.
//
// Positions only grow (64-bit: they never wrap in practice); the data area is mapped twice, back to
// back, so any run of up to `capacity` bytes starting anywhere in it is contiguous in memory: a
// message that wraps around the end can still be read (and decoded) in place.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

namespace brood::detail {

// Each position on its own cache line: the two sides write different ones.
struct ring_positions {
    alignas(64) std::atomic<std::uint64_t> written{0};   // by the producer
    alignas(64) std::atomic<std::uint64_t> consumed{0};  // by the consumer
};

class byte_ring {
public:
    byte_ring(ring_positions& positions, std::byte* data, std::size_t capacity) noexcept
        : positions_(&positions), data_(data), capacity_(capacity) {}

    std::size_t capacity() const noexcept { return capacity_; }

    // Producer side.
    std::size_t free_space() const noexcept {
        const std::uint64_t written = positions_->written.load(std::memory_order_relaxed);
        return capacity_ - static_cast<std::size_t>(written - positions_->consumed.load(std::memory_order_seq_cst));
    }
    // Copies as much of bytes as fits and publishes it; returns how much.
    std::size_t write_some(const std::byte* bytes, std::size_t n) noexcept {
        const std::uint64_t written = positions_->written.load(std::memory_order_relaxed);
        const std::size_t room =
            capacity_ - static_cast<std::size_t>(written - positions_->consumed.load(std::memory_order_seq_cst));
        if (n > room) n = room;
        if (n == 0) return 0;
        std::memcpy(data_ + (written & (capacity_ - 1)), bytes, n);
        positions_->written.store(written + n, std::memory_order_seq_cst);
        return n;
    }

    // Consumer side: every byte published and not consumed yet, contiguous.
    std::span<const std::byte> readable() const noexcept {
        const std::uint64_t consumed = positions_->consumed.load(std::memory_order_relaxed);
        const std::uint64_t written = positions_->written.load(std::memory_order_seq_cst);
        return {data_ + (consumed & (capacity_ - 1)), static_cast<std::size_t>(written - consumed)};
    }
    void consume(std::size_t n) noexcept {
        positions_->consumed.store(positions_->consumed.load(std::memory_order_relaxed) + n,
                                   std::memory_order_seq_cst);
    }

private:
    ring_positions* positions_;
    std::byte* data_;
    std::size_t capacity_;  // a power of two
};

}  // namespace brood::detail
