#include "supervisor/stdout_queue.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <limits.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <brood/error.hpp>

#include "supervisor/write_fully.hpp"

namespace brood::supervisor {

namespace {

std::uint64_t lines_in(std::string_view bytes) { return static_cast<std::uint64_t>(std::count(bytes.begin(), bytes.end(), '\n')); }

bool writable_now(int fd) {
    pollfd p{fd, POLLOUT, 0};
    return ::poll(&p, 1, 0) == 1;  // POLLERR / POLLHUP too: the write then says what is wrong
}

}  // namespace

stdout_queue::stdout_queue(monitor& loop, int fd, std::function<void(std::string_view)> say)
    : loop_(&loop), fd_(fd), say_(std::move(say)) {
    struct stat info {};
    takes_all_ = ::fstat(fd_, &info) != 0 || S_ISREG(info.st_mode) || S_ISBLK(info.st_mode) ||
                 (S_ISCHR(info.st_mode) && ::isatty(fd_) == 0);
}

stdout_queue::~stdout_queue() { watch(false); }

void stdout_queue::write(std::string_view lines) {
    if (closed_) {
        dropped_lines_ += lines_in(lines);
        return;
    }
    if (head_ > 0 && head_ >= buffer_.size() / 2) {
        buffer_.erase(0, head_);
        head_ = 0;
    }
    buffer_.append(lines);
    if (!watching_) flush();
}

// Writes what the fd takes without waiting. A pipe or a terminal that polls writable takes
// PIPE_BUF bytes without blocking; a file takes everything.
void stdout_queue::flush() {
    while (queued() > 0 && (takes_all_ || writable_now(fd_))) {
        const std::size_t chunk = takes_all_ ? queued() : std::min<std::size_t>(queued(), PIPE_BUF);
        std::size_t written = 0;
        const int error = write_fully(fd_, std::string_view(buffer_).substr(head_, chunk), &written);
        head_ += written;
        if (error != 0) {
            close_with(error);
            return;
        }
    }
    if (queued() == 0) {
        buffer_.clear();
        head_ = 0;
    }
    watch(queued() > 0);
    if (queued() > 0 && takes_all_) return flush();  // epoll could not watch it: written as a file
    if (!full()) wake_waiters();
}

void stdout_queue::watch(bool wanted) {
    if (wanted == watching_) return;
    if (!wanted) {
        loop_->remove_fd(fd_);
        watching_ = false;
        return;
    }
    try {
        loop_->add_fd(fd_, EPOLLOUT, [this](int, std::uint32_t) { flush(); });
        watching_ = true;
    } catch (const std::system_error&) {
        takes_all_ = true;  // epoll cannot watch it: write it as a file, waiting
    }
}

void stdout_queue::close_with(int error) {
    closed_ = true;
    const std::uint64_t lost = lines_in(std::string_view(buffer_).substr(head_));
    dropped_lines_ += lost;
    buffer_.clear();
    buffer_.shrink_to_fit();
    head_ = 0;
    watch(false);
    say_(std::string("standard output cannot be written (") + errno_name(error) +
         "): programs' lines are dropped and counted (brood status: stdout_dropped_lines)");
    wake_waiters();
}

void stdout_queue::wake_waiters() {
    std::map<const void*, std::function<void()>> waiting;
    waiting.swap(waiters_);
    for (auto& [who, resume] : waiting) resume();
}

void stdout_queue::when_room(const void* who, std::function<void()> resume) {
    if (closed_ || !full()) {
        resume();
        return;
    }
    waiters_[who] = std::move(resume);
}

void stdout_queue::forget(const void* who) { waiters_.erase(who); }

void stdout_queue::finish(std::chrono::milliseconds patience) {
    watch(false);
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (!closed_ && queued() > 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        pollfd p{fd_, POLLOUT, 0};
        if (!takes_all_ && (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) == 0)) {
            dropped_lines_ += lines_in(std::string_view(buffer_).substr(head_));
            say_("standard output is not read: lines still queued are dropped");
            break;
        }
        const std::size_t chunk = takes_all_ ? queued() : std::min<std::size_t>(queued(), PIPE_BUF);
        std::size_t written = 0;
        const int error = write_fully(fd_, std::string_view(buffer_).substr(head_, chunk), &written);
        head_ += written;
        if (error != 0) close_with(error);
    }
    buffer_.clear();
    head_ = 0;
    if (dropped_lines_ > 0) say_(std::to_string(dropped_lines_) + " lines of programs' output could not be written to standard output");
}

}  // namespace brood::supervisor
