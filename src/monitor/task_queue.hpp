// Work handed to the monitor's thread, and the eventfd that wakes the loop for it. The loop also
// rings the eventfd itself while queued events remain, so that fd() stays readable for an
// embedding loop until they are all handed out.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>

#include <brood/monitor.hpp>
#include <brood/unique_fd.hpp>

namespace brood::detail {

class task_queue {
public:
    task_queue();
    int fd() const noexcept { return fd_.get(); }
    // Thread-safe: queues the task and wakes the loop.
    void push(std::unique_ptr<posted_task> task);
    // Thread-safe: queues the task without waking the loop, which runs it at the end of its turn.
    void push_quietly(std::unique_ptr<posted_task> task);
    // Tasks queued. Thread-safe.
    std::size_t size();
    // Thread-safe and async-signal-safe: makes fd() readable.
    void wake() noexcept;
    // Makes fd() unreadable again (until the next push or wake).
    void clear() noexcept;
    // The oldest task, or null. Thread-safe.
    std::unique_ptr<posted_task> pop();

private:
    unique_fd fd_;
    std::mutex mutex_;
    std::deque<std::unique_ptr<posted_task>> tasks_;
};

}  // namespace brood::detail
