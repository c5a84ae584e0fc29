// brood up's own standard output, where programs' lines are shown, written without ever blocking
// the event loop: what the fd does not take at once waits in a queue, written as the fd becomes
// writable (EPOLLOUT). The queue is bounded: a relay stops reading its pipe while the queue is full
// (when_room), so a slow reader of brood's output (a pipe to a slow consumer, docker's log driver)
// slows the programs down through their pipes, and brood's memory stays bounded and its loop free
// to answer `brood status`.
//
//   stdout_queue out(loop, STDOUT_FILENO, [](std::string_view line) { say(line); });
//   out.write("web.0 | listening\n");
//   if (out.full()) { stop reading; out.when_room(this, [] { read again; }); }
//
// Once the fd cannot be written (EPIPE: nobody reads it any more), lines are dropped and counted,
// and `say` hears of it once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <brood/monitor.hpp>

namespace brood::supervisor {

class stdout_queue {
public:
    // Past this many queued bytes, full(): relays wait. A turn of the loop adds at most a relay's
    // budget per relay on top.
    static constexpr std::size_t limit = 1024 * 1024;

    stdout_queue(monitor& loop, int fd, std::function<void(std::string_view)> say);
    ~stdout_queue();
    stdout_queue(const stdout_queue&) = delete;
    stdout_queue& operator=(const stdout_queue&) = delete;

    // Queues whole lines and writes what the fd takes now.
    void write(std::string_view lines);
    bool full() const { return queued() >= limit; }
    std::size_t queued() const { return buffer_.size() - head_; }
    // resume is called once, when the queue has room again (or the fd is closed). who: the waiter,
    // which forgets itself before it goes.
    void when_room(const void* who, std::function<void()> resume);
    void forget(const void* who);
    // At exit: writes what is queued, waiting at most patience for the fd; what is left is dropped.
    void finish(std::chrono::milliseconds patience);

    // Lines dropped because the fd could no longer be written.
    std::uint64_t dropped_lines() const { return dropped_lines_; }

private:
    void flush();
    void watch(bool wanted);
    void close_with(int error);
    void wake_waiters();

    monitor* loop_;
    int fd_;
    std::function<void(std::string_view)> say_;
    bool takes_all_ = false;  // a regular file or a device: never full, and epoll cannot watch it
    bool watching_ = false;
    bool closed_ = false;
    std::string buffer_;
    std::size_t head_ = 0;  // buffer_ before head_ is written
    std::uint64_t dropped_lines_ = 0;
    std::map<const void*, std::function<void()>> waiters_;
};

}  // namespace brood::supervisor
