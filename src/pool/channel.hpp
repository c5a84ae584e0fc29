// channel: the shared memory between the pool and one worker: a control block and two byte rings
// (tasks in, results out), in one memfd mapped MAP_SHARED, so the worker forked after it is created
// sees the same pages. Plus the worker's bell. A replacement worker gets a fresh channel.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <brood/unique_fd.hpp>

#include "pool/bell.hpp"
#include "pool/byte_ring.hpp"

namespace brood::detail {

struct channel_control {
    ring_positions tasks;    // parent -> worker
    ring_positions results;  // worker -> parent
    sleeper parent;
    sleeper worker;
    // Written by the worker: the seq of the message it runs (before it runs it), whether its init
    // finished, and what the init threw. The parent reads them after the worker died.
    alignas(64) std::atomic<std::uint64_t> started{0};
    std::atomic<std::uint32_t> ready{0};
    char init_error[512] = {};
};

class channel {
public:
    // ring_bytes is rounded up to a power of two of at least a page.
    explicit channel(std::size_t ring_bytes);
    channel(const channel&) = delete;
    channel& operator=(const channel&) = delete;
    ~channel();

    channel_control& control() const noexcept { return *control_; }
    byte_ring tasks() const noexcept { return {control_->tasks, tasks_, capacity_}; }
    byte_ring results() const noexcept { return {control_->results, results_, capacity_}; }
    std::size_t capacity() const noexcept { return capacity_; }
    // The eventfd the worker sleeps on.
    int worker_bell() const noexcept { return worker_bell_.get(); }

private:
    std::byte* base_ = nullptr;
    std::size_t mapped_ = 0;
    std::size_t capacity_ = 0;
    channel_control* control_ = nullptr;
    std::byte* tasks_ = nullptr;
    std::byte* results_ = nullptr;
    unique_fd worker_bell_;
};

}  // namespace brood::detail
