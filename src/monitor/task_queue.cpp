#include "monitor/task_queue.hpp"

#include <cerrno>
#include <cstdint>

#include <sys/eventfd.h>
#include <unistd.h>

#include <brood/error.hpp>

namespace brood::detail {

task_queue::task_queue() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    if (!fd_) throw_errno(errno, "eventfd for brood::monitor");
}

void task_queue::push(std::unique_ptr<posted_task> task) {
    push_quietly(std::move(task));
    wake();
}

void task_queue::push_quietly(std::unique_ptr<posted_task> task) {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
}

std::size_t task_queue::size() {
    std::lock_guard lock(mutex_);
    return tasks_.size();
}

void task_queue::wake() noexcept {
    const std::uint64_t one = 1;
    // Only EAGAIN (counter saturated, so readable anyway) or EINTR can fail here.
    while (::write(fd_.get(), &one, sizeof one) == -1 && errno == EINTR) {
    }
}

void task_queue::clear() noexcept {
    std::uint64_t count;
    while (::read(fd_.get(), &count, sizeof count) == -1 && errno == EINTR) {
    }
}

std::unique_ptr<posted_task> task_queue::pop() {
    std::lock_guard lock(mutex_);
    if (tasks_.empty()) return nullptr;
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    return task;
}

}  // namespace brood::detail
